from django.contrib import admin
from django.utils import timezone

from oauth.models import OAuthClient, OAuthGrant


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    list_display = ("client_name", "client_id", "token_endpoint_auth_method", "created_at", "authorized_at")
    search_fields = ("client_name", "client_id")
    # Registered by the clients themselves; the secret's digest is never shown.
    fields = ("client_id", "client_name", "redirect_uris", "token_endpoint_auth_method", "created_at", "authorized_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OAuthGrant)
class OAuthGrantAdmin(admin.ModelAdmin):
    list_display = ("client", "user", "created_at", "last_used_at", "refresh_expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("client__client_name", "user__email")
    list_select_related = ("client", "user")
    fields = (
        "client",
        "user",
        "scope",
        "resource",
        "redirect_uri",
        "created_at",
        "last_used_at",
        "access_expires_at",
        "refresh_expires_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected grants")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} grant(s).")
