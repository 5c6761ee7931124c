"""The visible start of every per-user key ("m0sk_…"), apart from the models: read where keys are looked for in text
(mem0server/echoes.py) by code that runs before Django's apps are loaded (the logging configuration, gunicorn)."""

KEY_PREFIX = "m0sk_"
