"""Wire shapes of the event routes and of an async add's answer (Mem0's Platform field names, and more)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from events.models import Event
from mem0server.paging import MAX_PAGE
from mem0server.serializers import KnownFieldsOnly
from memories.serializers import AddResultSerializer
from platform_api.serializers import SENT_ALONG, PlatformProjectRefSerializer

MAX_PAGE_SIZE = 100


class EventQueuedSerializer(serializers.Serializer):
    """What an async add answers at once."""

    event_id = serializers.UUIDField(source="id", help_text="Poll GET /v1/event/{event_id}/ for the outcome.")
    status = serializers.ChoiceField(choices=Event.Status.choices)
    message = serializers.CharField(default="Memory processing has been queued for background execution.")


class EventMemoryTextSerializer(serializers.Serializer):
    memory = serializers.CharField()


class EventResultSerializer(AddResultSerializer):
    """One item of a SUCCEEDED add: a synchronous add's fields, and Mem0's event fields (data.memory, the add's
    user_id), which Mem0's CLI shows (`mem0 event status`)."""

    data = serializers.SerializerMethodField(help_text="{memory}: the same text as memory.")
    user_id = serializers.CharField(required=False, help_text="The add's user_id; left out when it had none.")

    @extend_schema_field(EventMemoryTextSerializer)
    def get_data(self, item: dict) -> dict:
        return {"memory": item["memory"]}


class EventSerializer(serializers.ModelSerializer):
    """Mem0's event fields (id, event_type, status, payload, metadata, results, created_at, updated_at,
    started_at, completed_at, latency, graph_status, error) and ours (error_code, error_message, attempts,
    finished_at)."""

    results = serializers.SerializerMethodField(
        help_text="SUCCEEDED: the items a synchronous add answers, with data.memory and user_id; else null."
    )
    payload = serializers.JSONField(help_text="The add request as queued (messages, scope, options).")
    metadata = serializers.SerializerMethodField(help_text="The add's metadata (null when it had none).")
    error_code = serializers.CharField(
        allow_blank=True,
        help_text="FAILED (or PENDING again before a retry): why, e.g. provider_bad_request, provider_auth_failed, "
        "provider_unavailable, too_many_attempts, scope_deleted (its scope's memories were deleted after it was "
        "queued); else empty.",
    )
    error_message = serializers.CharField(allow_blank=True, help_text="The sentence that goes with error_code.")
    error = serializers.SerializerMethodField(help_text="error_message, or null when there is none (Mem0's name).")
    completed_at = serializers.DateTimeField(source="finished_at", allow_null=True, help_text="Same as finished_at.")
    latency = serializers.SerializerMethodField(
        help_text="Milliseconds from the first run's start to the finish; null until finished."
    )
    graph_status = serializers.SerializerMethodField(help_text="Always null: no graph memory here.")

    class Meta:
        model = Event
        fields = (
            "id",
            "event_type",
            "status",
            "payload",
            "metadata",
            "results",
            "error",
            "error_code",
            "error_message",
            "attempts",
            "latency",
            "graph_status",
            "created_at",
            "updated_at",
            "started_at",
            "completed_at",
            "finished_at",
        )

    @extend_schema_field(EventResultSerializer(many=True, allow_null=True))
    def get_results(self, event: Event) -> list[dict] | None:
        if event.results is None:
            return None
        user_id = ((event.payload or {}).get("scope") or {}).get("user_id")
        items = [{**item, "user_id": user_id} if user_id else item for item in event.results]
        return EventResultSerializer(items, many=True).data

    def get_metadata(self, event: Event) -> dict | None:
        metadata = (event.payload or {}).get("metadata")
        return metadata if isinstance(metadata, dict) else None

    def get_error(self, event: Event) -> str | None:
        return event.error_message or None

    def get_latency(self, event: Event) -> float | None:
        if event.finished_at is None or event.started_at is None:
            return None
        return round((event.finished_at - event.started_at).total_seconds() * 1000, 1)

    def get_graph_status(self, event: Event) -> str | None:
        return None


class EventListQuerySerializer(KnownFieldsOnly, PlatformProjectRefSerializer):
    # A misspelt option (statuss, page_sise) listed every event as if it had been applied.
    route, what, sent_along = "GET /v1/events/", "query parameter", SENT_ALONG
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=50)
    status = serializers.ChoiceField(choices=Event.Status.choices, required=False, help_text="Only events in it.")


class EventPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="The caller's events (of the status asked), over all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EventSerializer(many=True)
