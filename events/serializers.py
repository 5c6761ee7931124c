"""Wire shapes of the event routes and of an async add's answer (Mem0's Platform field names, and more)."""

from __future__ import annotations

from rest_framework import serializers

from events.models import Event
from memories.serializers import AddResultSerializer
from platform_api.serializers import PlatformProjectRefSerializer

MAX_PAGE_SIZE = 100


class EventQueuedSerializer(serializers.Serializer):
    """What an async add answers at once."""

    event_id = serializers.UUIDField(source="id", help_text="Poll GET /v1/event/{event_id}/ for the outcome.")
    status = serializers.ChoiceField(choices=Event.Status.choices)
    message = serializers.CharField(default="Memory processing has been queued for background execution.")


class EventSerializer(serializers.ModelSerializer):
    results = AddResultSerializer(
        many=True, allow_null=True, help_text="SUCCEEDED: the items a synchronous add answers; else null."
    )
    payload = serializers.JSONField(help_text="The add request as queued (messages, scope, options).")
    error_code = serializers.CharField(
        allow_blank=True,
        help_text="FAILED (or PENDING again before a retry): why, e.g. provider_bad_request, provider_auth_failed, "
        "provider_unavailable, too_many_attempts; else empty.",
    )
    error_message = serializers.CharField(allow_blank=True, help_text="The sentence that goes with error_code.")
    latency = serializers.SerializerMethodField(help_text="Seconds from queued to finished; null until finished.")

    class Meta:
        model = Event
        fields = (
            "id",
            "event_type",
            "status",
            "payload",
            "results",
            "error_code",
            "error_message",
            "attempts",
            "latency",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        )

    def get_latency(self, event: Event) -> float | None:
        if event.finished_at is None:
            return None
        return round((event.finished_at - event.created_at).total_seconds(), 3)


class EventListQuerySerializer(PlatformProjectRefSerializer):
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=50)
    status = serializers.ChoiceField(choices=Event.Status.choices, required=False, help_text="Only events in it.")


class EventPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="The caller's events (of the status asked), over all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EventSerializer(many=True)
