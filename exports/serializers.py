"""Request and response shapes of POST /v1/exports/ and POST /v1/exports/get/ (the official SDKs' wire format)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exports.models import MemoryExport
from mem0server.parsers import NestedTooDeep, json_loads
from mem0server.serializers import KnownFieldsOnly, ObjectField, StrictCharField
from memories.serializers import ScopeMixin, merge_scope
from platform_api.serializers import SENT_ALONG, PlatformProjectRefSerializer, prompt_text_field


@extend_schema_field(
    {
        "oneOf": [{"type": "object", "additionalProperties": True}, {"type": "string"}],
        "nullable": True,
        "description": "A JSON Schema (an object, or a string holding one; the Python SDK's type hint says str). "
        "Its top level describes an object. Null or {}: the memories as plain JSON.",
    }
)
class SchemaField(serializers.JSONField):
    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json_loads(data)
            except NestedTooDeep as exc:
                raise serializers.ValidationError(f"Must not nest so deep: {exc}") from None
            except ValueError:
                raise serializers.ValidationError("A string schema must hold a JSON Schema object.") from None
        return ObjectField(allow_null=True).to_internal_value(data)


FILTERS_HELP = (
    "Which memories: scope ids, metadata keys, operators and AND / OR / NOT lists, as in get_all; "
    'e.g. {"AND": [{"user_id": "alice"}]}. Without filters: every memory the caller may see.'
)


class ExportCreateRequestSerializer(KnownFieldsOnly, ScopeMixin, PlatformProjectRefSerializer):
    # The SDKs send their keyword arguments as they are: filter= (for filters) exported every memory.
    route, sent_along = "POST /v1/exports/", SENT_ALONG
    schema = SchemaField(required=False, allow_null=True)
    filters = ObjectField(required=False, allow_null=True, help_text=FILTERS_HELP)
    export_instructions = prompt_text_field(
        "Extra instructions for the LLM that shapes the export (with a schema only)."
    )

    def validate(self, attrs):
        attrs["filters"] = merge_scope(attrs, attrs.get("filters"))
        return attrs


class ExportCreatedSerializer(serializers.Serializer):
    message = serializers.CharField()
    id = serializers.UUIDField(help_text="The export's id: POST /v1/exports/get/ with memory_export_id.")


class ExportGetRequestSerializer(KnownFieldsOnly, ScopeMixin, PlatformProjectRefSerializer):
    route, sent_along = "POST /v1/exports/get/", SENT_ALONG
    memory_export_id = StrictCharField(required=False, allow_null=True, max_length=64, help_text="An export's id.")
    filters = ObjectField(
        required=False,
        allow_null=True,
        help_text="Without memory_export_id: the newest export whose user_id / agent_id / app_id / run_id match, "
        "and whose created_at / updated_at pass eq, gt, gte, lt, lte bounds; any other memory filter (an in list, "
        "metadata, categories, OR): the newest export created with exactly these filters. Neither: the newest "
        "export.",
    )

    def validate(self, attrs):
        attrs["filters"] = merge_scope(attrs, attrs.get("filters"))
        return attrs


class ExportPendingSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[MemoryExport.Status.PENDING, MemoryExport.Status.RUNNING])
    message = serializers.CharField()
    created_at = serializers.DateTimeField()


class ExportFailedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[MemoryExport.Status.FAILED])
    error = serializers.CharField()
