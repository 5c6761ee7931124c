"""Admin: webhooks with their secret and their URL's credentials and query values masked, and the delivery log
read-only."""

from __future__ import annotations

from django.contrib import admin

from mem0server.text import mask_url_value
from webhooks.models import Webhook, WebhookDelivery
from webhooks.services import secret_mask


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "masked_url", "account", "is_active", "created_at")
    list_filter = ("is_active",)
    # Not the URL: a search by its text would read back, a character at a time, the token it was masked for.
    search_fields = ("name", "account__email")
    # The secret is never a form field: an admin sees it masked and cannot read it back. The URL is shown as the
    # account's other secrets are (a token in its query string, a user:password@): an operator reads where it goes.
    fields = ("account", "name", "masked_url", "event_types", "is_active", "masked_secret", "created_at", "updated_at")
    # Only is_active changes here (to silence a webhook): a url typed here would skip the API's address check.
    readonly_fields = ("account", "name", "masked_url", "event_types", "masked_secret", "created_at", "updated_at")

    @admin.display(description="secret")
    def masked_secret(self, obj: Webhook) -> str:
        return secret_mask(obj.secret)

    @admin.display(description="url")
    def masked_url(self, obj: Webhook) -> str:
        return mask_url_value(obj.url)

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which shows the secret once

    def save_model(self, request, obj, form, change):
        # Only is_active is editable; saving every field wrote back a secret this SECRET_KEY cannot open (None).
        obj.save(update_fields=["is_active", "updated_at"])


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "webhook", "event_type", "attempt", "status_code", "succeeded", "duration_ms")
    list_filter = ("succeeded", "event_type")
    search_fields = ("event_id", "webhook__name")
    list_select_related = ("webhook",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
