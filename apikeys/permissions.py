"""Who may call what. AUTH_DISABLED arrives here as an admin principal (see authentication.py)."""

from rest_framework.permissions import BasePermission
from rest_framework_simplejwt.tokens import AccessToken


class IsAuthenticated(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class IsAdmin(BasePermission):
    """Admin credentials: an admin account's token or key, ADMIN_API_KEY, or AUTH_DISABLED=true."""

    message = "This action needs admin credentials."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request.user, "is_admin", False))


class HasAccount(BasePermission):
    """A dashboard account (JWT or per-user key), not ADMIN_API_KEY or AUTH_DISABLED, which own nothing."""

    message = "This needs an account's credentials: log in (POST /auth/login) and use the access token."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.account is not None)


class HasLoginToken(BasePermission):
    """A Bearer access token from /auth/login: an API key may not mint or revoke API keys."""

    message = "Managing API keys needs a login: use the access token from POST /auth/login, not an API key."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, AccessToken)


class AccountChangeNeedsLogin(HasLoginToken):
    """Changing an account's name, email or password needs a login: an API key (which may be stored in a tool
    or leaked with it) must not be enough to take the account over."""

    message = (
        "Changing the account (its name, email or password) needs a login: use the access token from "
        "POST /auth/login, not an API key."
    )
