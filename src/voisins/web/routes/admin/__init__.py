"""The administrators' workspace (/admin), one module per page group: centres and
their territories, members and partnerships, partner webhooks, staff accounts, and the
reports and follow-ups no centre covers; ``common`` holds their wording and layout.

Every page calls the services the API calls (centres.service, accounts.*,
moderation.*, notify.webhook_endpoints) — their rules and their audit trail — and is
refused, as an audited page, to anyone but an administrator (the ``admin`` dependency,
web/signed_in.py). A form that does not pass comes back with the field's message and
nothing written (each change runs in a savepoint of the request's transaction).
"""
