"""Django's error report (the page a 500 answers with DEBUG=true, and any error email to ADMINS) with the secrets
this server holds in URLs masked too: Django hides settings and variables named like secrets (SECRET_KEY,
ADMIN_API_KEY, a local `api_key`), but DATABASE_URL, REDIS_URL or OPENAI_BASE_URL, and a variable holding such a
URL, were shown with their passwords and query values to whoever made the failing request."""

from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from mem0server.text import mask_urls


class UrlSecretsFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        """Django's cleansing (a secret-named value hidden whole, dicts and lists gone through), then a URL's
        credentials and query values masked in every text."""
        value = super().cleanse_setting(key, value)
        return mask_urls(value) if isinstance(value, str) else value

    def get_traceback_frame_variables(self, request, tb_frame):
        """Each frame's variables cleansed as settings are: by name, and URLs in their texts, dicts and lists."""
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
