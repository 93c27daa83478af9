"""The centre social's workspace, for its social workers: one module per page (or per
group of pages about one thing), and ``common`` for what they share.

Every page calls the services the API calls (moderation.*, accounts.*, matching.*,
housing.*) and is refused — a page in the layout, audited — to anyone but a social
worker; what a social worker may see of a centre is the services' rule.
"""
