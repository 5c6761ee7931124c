"""Request and response shapes of the webhook routes (the official SDKs' wire format)."""

from __future__ import annotations

from rest_framework import serializers

from mem0server.serializers import KnownFieldsOnly, StrictBooleanField, StrictCharField
from webhooks.models import EventType

VALID_EVENT_TYPES = ", ".join(EventType.values)


class EventTypeField(serializers.ChoiceField):
    default_error_messages = {
        "invalid_choice": f'"{{input}}" is not a valid event type; valid event types are {VALID_EVENT_TYPES}.'
    }

    def __init__(self, **kwargs):
        super().__init__(choices=EventType.choices, **kwargs)


CHANGEABLE_FIELDS = ("name", "url", "event_types", "is_active")


class WebhookChangeSerializer(KnownFieldsOnly):
    # Any other field is refused: {"enabled": false} (for is_active) made an active webhook, posting at once.
    route = "PUT /api/v1/webhooks/{webhook_id}/"
    name = StrictCharField(required=False, max_length=255, help_text="A label for you.")
    url = StrictCharField(
        required=False,
        max_length=2048,
        help_text="http(s) URL the events are POSTed to; private, loopback and link-local addresses are refused "
        "unless WEBHOOK_ALLOW_PRIVATE=true.",
    )
    event_types = serializers.ListField(
        child=EventTypeField(),
        required=False,
        min_length=1,
        max_length=len(EventType.values) * 4,
        help_text="Events to receive. This server sends memory_add, memory_update and memory_delete.",
    )
    is_active = StrictBooleanField(required=False, help_text="false: keep the webhook but send nothing.")

    def validate(self, attrs):
        # An update that names no field would answer "updated" and change nothing.
        if not attrs:
            raise serializers.ValidationError(
                f"Nothing to update: give at least one of {', '.join(CHANGEABLE_FIELDS)}."
            )
        return attrs


class WebhookCreateSerializer(WebhookChangeSerializer):
    route = "POST /api/v1/webhooks/projects/{project_id}/"
    name = StrictCharField(max_length=255, help_text="A label for you.")
    url = StrictCharField(max_length=2048, help_text=WebhookChangeSerializer().fields["url"].help_text)
    event_types = serializers.ListField(
        child=EventTypeField(),
        min_length=1,
        max_length=len(EventType.values) * 4,
        help_text=WebhookChangeSerializer().fields["event_types"].help_text,
    )
    project_id = StrictCharField(required=False, allow_blank=True, max_length=255, help_text="Yours, or 404.")


class WebhookSerializer(serializers.Serializer):
    webhook_id = serializers.IntegerField(source="id")
    name = serializers.CharField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))
    owner = serializers.CharField(help_text="The email of the account whose memories it reports; admin: no account.")
    project = serializers.CharField(help_text="The project id (GET /v1/ping/ tells yours).")
    is_active = serializers.BooleanField()
    secret = serializers.CharField(help_text="The signing secret, masked (it is shown in full only at creation).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="The signing secret of X-Mem0-Signature, in full: shown this once, store it now."
    )


class WebhookMessageSerializer(serializers.Serializer):
    message = serializers.CharField()
