"""Request and response shapes of /api-keys."""

from rest_framework import serializers

from apikeys.models import APIKey
from mem0server.serializers import KnownFieldsOnly, StrictCharField


class APIKeyCreateRequestSerializer(KnownFieldsOnly):
    route = "POST /api-keys"
    label = StrictCharField(max_length=100, help_text="What the key is for, e.g. 'support bot'.")


class APIKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = APIKey
        fields = ["id", "label", "key_prefix", "created_at", "last_used_at"]


class APIKeyCreatedSerializer(serializers.ModelSerializer):
    key = serializers.CharField(help_text="The key itself: shown this once, never again.")

    class Meta:
        model = APIKey
        fields = ["id", "key", "label", "key_prefix", "created_at"]
