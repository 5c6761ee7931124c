from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from apikeys.models import APIKey
from apikeys.services import apikey_create


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ("key_prefix", "label", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "user")
    search_fields = ("label", "key_prefix", "user__email")
    list_select_related = ("user",)
    # The digest is never shown; the key itself only once, on the page that follows its creation.
    fields = ("user", "label", "key_prefix", "created_at", "last_used_at", "revoked_at")
    add_fields = ("user", "label")
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        # Created by the service (random key, digest stored); the key rides on the object to response_add.
        api_key, key = apikey_create(user=obj.user, label=obj.label)
        obj.pk, obj.key_prefix, obj.digest, obj.created_at = (
            api_key.pk,
            api_key.key_prefix,
            api_key.digest,
            api_key.created_at,
        )
        obj.new_key = key

    def response_add(self, request, obj, post_url_continue=None):
        context = {**self.admin_site.each_context(request), "opts": self.opts, "api_key": obj, "key": obj.new_key}
        return TemplateResponse(request, "admin/apikeys/apikey/created.html", context)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")
