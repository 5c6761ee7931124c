"""Response shapes of the server-level endpoints (health); they are also the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "degraded"], help_text="ok: the database answers and the embedder is not broken."
    )
    database = serializers.ChoiceField(choices=["ok", "unavailable"])
    embedder = serializers.ChoiceField(
        choices=["ok", "loading", "unavailable"], help_text="loading: the model is still being read after start."
    )
