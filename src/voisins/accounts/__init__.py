"""People and access: residents, volunteers, social workers, admins; sessions and tokens."""
