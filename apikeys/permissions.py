"""Who may call what. Both read settings per request, so AUTH_DISABLED is honoured everywhere."""

from django.conf import settings
from rest_framework.permissions import BasePermission


class IsAuthenticated(BasePermission):
    """Valid credentials, or AUTH_DISABLED=true."""

    def has_permission(self, request, view) -> bool:
        return settings.AUTH_DISABLED or bool(request.user and request.user.is_authenticated)


class IsAdmin(BasePermission):
    """Admin credentials (ADMIN_API_KEY today; admin accounts later), or AUTH_DISABLED=true."""

    message = "This action needs admin credentials."

    def has_permission(self, request, view) -> bool:
        return settings.AUTH_DISABLED or bool(getattr(request.user, "is_admin", False))
