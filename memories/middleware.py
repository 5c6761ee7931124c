"""Makes each request compare this process's configuration with the stored one before first using it."""

from __future__ import annotations

from memories.configuration import configuration_checked_once


class ConfigRefreshMiddleware:
    """Marks the request unchecked; the first use of the configuration then does one indexed read.

    Requests that never touch the configuration (docs, schema, health) cost nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with configuration_checked_once():
            return self.get_response(request)
