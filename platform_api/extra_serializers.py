"""Request and response shapes of the Platform routes in extra_views.py; they are also the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from entities.selectors import ENTITY_FIELDS
from mem0server.paging import MAX_PAGE
from mem0server.serializers import KnownFieldsOnly, ObjectField, StrictCharField
from memories.serializers import MAX_MESSAGE_LENGTH, MERGED_METADATA_HELP
from memories.services import MAX_BATCH, BatchChange
from platform_api.models import Feedback
from platform_api.serializers import SENT_ALONG

# --- entities ----------------------------------------------------------------------------------------------------


class PlatformEntitySerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="The same as name: entities are known by their id (DELETE /v1/entities/{type}/{id}/ takes it)."
    )
    name = serializers.CharField(help_text="The user_id, agent_id, app_id or run_id.")
    type = serializers.ChoiceField(choices=sorted(ENTITY_FIELDS))
    total_memories = serializers.IntegerField()
    created_at = serializers.DateTimeField(help_text="When its first memory was created.")
    updated_at = serializers.DateTimeField(help_text="When one of its memories last changed.")
    owner = serializers.CharField(
        help_text="The caller's account (its email), whose memories these are; ADMIN_EMAIL or 'admin' for the admin key"
    )
    metadata = ObjectField(allow_null=True, help_text="Always null: entities carry no metadata of their own here.")


class PlatformEntityListSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many entities (all of them are in results).")
    next = serializers.CharField(allow_null=True, help_text="Always null: one page holds every entity.")
    previous = serializers.CharField(allow_null=True, help_text="Always null.")
    results = PlatformEntitySerializer(many=True)
    total_users = serializers.IntegerField()
    total_agents = serializers.IntegerField()
    total_apps = serializers.IntegerField()
    total_runs = serializers.IntegerField()


class EntityDeletedSerializer(serializers.Serializer):
    message = serializers.CharField()
    deleted = serializers.IntegerField(help_text="How many memories were deleted (0 when it had none left).")


# --- batches -----------------------------------------------------------------------------------------------------


class BatchUpdateItemSerializer(KnownFieldsOnly):
    # Each item as the caller wrote it (the SDKs pass the list on): a misspelt metadata was dropped silently.
    route = "Each of batch_update's memories"
    memory_id = serializers.UUIDField()
    text = StrictCharField(required=False, max_length=MAX_MESSAGE_LENGTH, help_text="The new text (re-embedded).")
    metadata = ObjectField(required=False, help_text=MERGED_METADATA_HELP)

    def validate(self, attrs):
        if attrs.get("text") is None and attrs.get("metadata") is None:
            raise serializers.ValidationError("Give text or metadata to update.")
        return attrs


class BatchDeleteItemSerializer(KnownFieldsOnly):
    route = "Each of batch_delete's memories"
    memory_id = serializers.UUIDField()


class _BatchList(serializers.ListField):
    """1 to MAX_BATCH items; the error for too many names the limit."""

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=MAX_BATCH, **kwargs)
        self.error_messages["max_length"] = (
            f"At most {MAX_BATCH} memories per request; split the batch (got {{length}})."
        )

    def to_internal_value(self, data):
        if isinstance(data, list) and len(data) > MAX_BATCH:
            # Checked before the items, so an oversized batch is refused without validating 1000+ items.
            raise serializers.ValidationError(self.error_messages["max_length"].format(length=len(data)))
        return super().to_internal_value(data)


class BatchUpdateRequestSerializer(KnownFieldsOnly):
    route = "PUT /v1/batch/"
    memories = _BatchList(child=BatchUpdateItemSerializer())

    def changes(self) -> list[BatchChange]:
        return [BatchChange(**item) for item in self.validated_data["memories"]]


class BatchDeleteRequestSerializer(KnownFieldsOnly):
    route = "DELETE /v1/batch/"
    memories = _BatchList(child=BatchDeleteItemSerializer())


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


# --- feedback ----------------------------------------------------------------------------------------------------


class VerdictField(serializers.ChoiceField):
    """POSITIVE, NEGATIVE or VERY_NEGATIVE, in any letter case (the Python SDK upper-cases, others may not)."""

    def __init__(self, **kwargs):
        super().__init__(choices=Feedback.Verdict.values, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data.upper() if isinstance(data, str) else data)


class FeedbackRequestSerializer(KnownFieldsOnly):
    # Older clients add their org and project ids to every body.
    route, sent_along = "POST /v1/feedback/", (*SENT_ALONG, "org_id", "project_id")
    memory_id = serializers.UUIDField()
    feedback = VerdictField(required=False, allow_null=True)
    feedback_reason = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=10_000)


class FeedbackResponseSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The feedback's id.")
    memory_id = serializers.UUIDField()
    feedback = serializers.ChoiceField(choices=Feedback.Verdict.values, allow_null=True)
    feedback_reason = serializers.CharField(allow_null=True)


# --- stats and summary -------------------------------------------------------------------------------------------


class StatsSerializer(serializers.Serializer):
    total_memories = serializers.IntegerField(help_text="Memories stored (expired ones included).")
    total_users_with_memories = serializers.IntegerField(help_text="Distinct user_ids.")
    total_agents_with_memories = serializers.IntegerField(help_text="Distinct agent_ids.")
    total_apps_with_memories = serializers.IntegerField(help_text="Distinct app_ids.")
    total_runs_with_memories = serializers.IntegerField(help_text="Distinct run_ids.")
    memories_with_user_id = serializers.IntegerField(help_text="Memories that carry a user_id.")
    memories_with_agent_id = serializers.IntegerField(help_text="Memories that carry an agent_id.")
    memories_with_app_id = serializers.IntegerField(help_text="Memories that carry an app_id.")
    memories_with_run_id = serializers.IntegerField(help_text="Memories that carry a run_id.")
    total_add_events = serializers.IntegerField(help_text="Memories ever added (history ADD rows).")
    total_update_events = serializers.IntegerField(help_text="Memory updates (history UPDATE rows).")
    total_delete_events = serializers.IntegerField(help_text="Memories deleted (history DELETE rows).")


class SummaryRequestSerializer(KnownFieldsOnly):
    # A misspelt filters summarised every memory of the caller. Older clients send their org and project ids along.
    route, sent_along = "POST /v1/summary/", (*SENT_ALONG, "org_id", "project_id")
    filters = ObjectField(
        required=False,
        allow_null=True,
        help_text='Which memories: {"user_id": "alice"}, or AND/OR/NOT and operators as in search. '
        "Without filters, every memory of the caller.",
    )


class SummaryResponseSerializer(serializers.Serializer):
    summary = serializers.CharField(help_text="Written by the configured LLM.")
    memories_summarized = serializers.IntegerField(help_text="The newest memories shown to the LLM (at most 200).")
    total_memories = serializers.IntegerField(help_text="Unexpired memories passing the filters.")


class EntityListQuerySerializer(KnownFieldsOnly):
    # A misspelt page_size listed every entity in one page, as if there were no more.
    route, what, sent_along = "GET /v1/entities/", "query parameter", (*SENT_ALONG, "org_id", "project_id")
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, help_text="Without it, every entity in one page."
    )
