"""Shared pieces of the Django admin pages."""

import math

from django.contrib import admin
from django.http import HttpResponse
from rest_framework.throttling import SimpleRateThrottle


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
