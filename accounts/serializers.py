"""Request and response shapes of /auth/*."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from mem0server.serializers import KnownFieldsOnly, StrictCharField


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        return super().to_internal_value(data).lower()


class SetupStatusSerializer(serializers.Serializer):
    needsSetup = serializers.BooleanField(help_text="True until the first account is registered.")  # noqa: N815


class RegisterRequestSerializer(KnownFieldsOnly):
    route = "POST /auth/register"
    name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
    email = StrictEmailField(max_length=254)
    password = StrictCharField(max_length=512, trim_whitespace=False, write_only=True)


class LoginRequestSerializer(serializers.Serializer):
    # Other fields are ignored (not refused, as elsewhere): the walk-through sends register's body, name included,
    # and a misspelt email or password is a 400 anyway.
    email = StrictCharField(max_length=254)
    password = StrictCharField(max_length=512, trim_whitespace=False, write_only=True)


class RefreshRequestSerializer(KnownFieldsOnly):
    route = "POST /auth/refresh"
    refresh_token = StrictCharField(max_length=4096)


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="Send as `Authorization: Bearer <access_token>`; 30 minutes.")
    refresh_token = serializers.CharField(help_text="For POST /auth/refresh, once; 30 days.")
    token_type = serializers.ChoiceField(choices=["bearer"])


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "role", "created_at"]


class MeUpdateRequestSerializer(KnownFieldsOnly):
    route = "PATCH /auth/me"
    name = StrictCharField(max_length=150, required=False, allow_blank=True)
    email = StrictEmailField(max_length=254, required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give name and/or email.")
        return attrs


class ChangePasswordRequestSerializer(KnownFieldsOnly):
    route = "POST /auth/change-password"
    current_password = StrictCharField(max_length=512, trim_whitespace=False)
    new_password = StrictCharField(max_length=512, trim_whitespace=False)


class OnboardingCompleteRequestSerializer(KnownFieldsOnly):
    route = "POST /auth/onboarding-complete"
    use_case = StrictCharField(
        max_length=2000, allow_blank=True, help_text="What the operator said the server is for (not stored)."
    )
