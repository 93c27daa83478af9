"""Server-rendered pages (Jinja2 + htmx) for residents, volunteers and social workers.

The top of the import direction: pages call the same services the API calls, never
the API over HTTP. French first; English through Babel catalogues (web/locale)."""
