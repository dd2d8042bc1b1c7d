"""Server-rendered staff pages (agent workspace, admin review, dashboard, API docs) in Chinese
and English, rendered with Jinja2 from ``templates/``."""
