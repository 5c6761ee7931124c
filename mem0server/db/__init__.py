"""Django's PostgreSQL backend with one change to how pooled connections are handed out (see base.py)."""
