"""Shared pieces of the Django admin pages."""

import logging
import math

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpResponse
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("mem0server")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the API (with their side effects: embeddings, history): listed and viewed here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AdminLoginThrottle(SimpleRateThrottle):
    """Password attempts on /admin/login/, per client address, at the API login's rate ("login")."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": "admin_login", "ident": self.get_ident(request)}


def admin_login(request, **kwargs):
    """The admin's login page, with a limit on attempts: without one, 40 wrong passwords were all checked."""
    if request.method == "POST":
        throttle = AdminLoginThrottle()
        if not throttle.allow_request(request, None):
            wait = math.ceil(throttle.wait() or 1)
            response = HttpResponse(
                f"Too many login attempts from this address; try again in {wait} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, **kwargs)


class AdminInputMiddleware:
    """A Django admin page given what its fields cannot hold answers 400 saying what, where Django's admin raised it
    (a 500): a NUL in a list's filter (PostgreSQL's text holds none: DataError), an id of the wrong type in a posted
    action (ValueError, or ValidationError for a UUID)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        bad_input = isinstance(exception, DataError | ValueError | ValidationError)
        if not bad_input or not request.path_info.startswith("/admin/"):
            return None
        said = "; ".join(exception.messages) if isinstance(exception, ValidationError) else str(exception)
        logger.info("admin page %s refused what was sent: %s", request.path_info, said[:300])
        return HttpResponse(
            f"This admin page cannot use what was sent: {said[:300]}\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
