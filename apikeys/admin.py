from django.contrib import admin
from django.utils import timezone

from apikeys.models import APIKey


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ("key_prefix", "label", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "user")
    search_fields = ("label", "key_prefix", "user__email")
    list_select_related = ("user",)
    # The digest is never shown; keys are created through the API or `manage.py createapikey`.
    fields = ("user", "label", "key_prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")
