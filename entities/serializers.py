"""Request and response shapes of the entity endpoints; they are also the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from entities.selectors import ENTITY_FIELDS, MAX_ENTITIES_LIMIT, parse_entity_type
from mem0server.exceptions import InvalidInput
from mem0server.serializers import KnownFieldsOnly


class EntityTypeField(serializers.CharField):
    """user / agent / app / run, singular or plural (Mem0's paths use the plural); stored singular."""

    def to_internal_value(self, data):
        try:
            return parse_entity_type(super().to_internal_value(data))
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.detail) from None


class EntityListQuerySerializer(KnownFieldsOnly):
    route, what = "GET /entities", "query parameter"
    type = EntityTypeField(
        required=False, help_text="Only this type: user, agent, app or run (plural accepted).", max_length=16
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ENTITIES_LIMIT,
        default=MAX_ENTITIES_LIMIT,
        help_text="Entities per page. When more remain, the X-Next-Cursor and Link headers point at the next page.",
    )
    cursor = serializers.CharField(required=False, max_length=2000, help_text="X-Next-Cursor of the previous page.")


class EntitySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=sorted(ENTITY_FIELDS))
    id = serializers.CharField()
    total_memories = serializers.IntegerField()
    created_at = serializers.DateTimeField(help_text="When its first memory was created.")
    updated_at = serializers.DateTimeField(help_text="When one of its memories last changed.")


class EntityDeleteResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    deleted = serializers.IntegerField(help_text="How many memories were deleted.")
