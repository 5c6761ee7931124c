"""Request and response shapes of the profile routes (the official SDKs' wire format: snake_case, the settings'
schema and instructions nested under entities.user)."""

from __future__ import annotations

from rest_framework import serializers

from exports.serializers import SchemaField
from mem0server.serializers import KnownFieldsOnly, StrictBooleanField, StrictCharField
from platform_api.serializers import SENT_ALONG, PlatformProjectRefSerializer, prompt_text_field
from profiles.models import Profile, ProfileJob
from profiles.services import ENTITY_TYPE, SAMPLE_DEFAULT, SAMPLE_MAX

NOT_ENABLED = "not_enabled"
ENTITY_TYPES = [ENTITY_TYPE]
# What a profile's status may be (the stored ones, and "off or not configured"), and what a caller may ask for.
PROFILE_STATUSES = [*Profile.Status.values, NOT_ENABLED]
REQUESTED_OPERATIONS = [ProfileJob.Operation.TRIGGER.value, ProfileJob.Operation.SAMPLE.value]


def _unknown(serializer: serializers.Serializer, data) -> str:
    """The keys of `data` the serializer does not take, named (DRF would drop them, and the caller believe them
    stored); empty when there are none."""
    names = sorted(str(key)[:64] for key in data if key not in serializer.fields) if isinstance(data, dict) else []
    return ", ".join(names)


def _refuse_unknown(serializer: serializers.Serializer, data, where: str) -> None:
    if unknown := _unknown(serializer, data):
        raise serializers.ValidationError(
            f"Unsupported settings{where}: {unknown}. Settings take enabled, and entities.user.schema and "
            "entities.user.custom_instructions."
        )


class UserProfileSettingsSerializer(serializers.Serializer):
    schema = SchemaField(
        required=False,
        allow_null=True,
        help_text="The JSON Schema of a user's profile: an object whose every property has a description. "
        "Null clears it.",
    )
    custom_instructions = prompt_text_field("Extra guidance for the LLM that fills in the profiles. Null clears it.")

    def to_internal_value(self, data):
        _refuse_unknown(self, data, " in entities.user")
        return super().to_internal_value(data)


class EntitiesSettingsSerializer(serializers.Serializer):
    user = UserProfileSettingsSerializer(required=False)

    def to_internal_value(self, data):
        if unknown := _unknown(self, data):
            raise serializers.ValidationError(f"Profiles are for users only: entities takes user, not {unknown}.")
        return super().to_internal_value(data)


class ProfileSettingsUpdateSerializer(PlatformProjectRefSerializer):
    enabled = StrictBooleanField(required=False, help_text="Profile generation on or off, project-wide: true or false.")
    entities = EntitiesSettingsSerializer(required=False, help_text="Each entity type's settings: user only.")

    def validate(self, attrs):
        _refuse_unknown(self, self.initial_data, "")
        return attrs


class UserProfileSettingsOutSerializer(serializers.Serializer):
    schema = serializers.JSONField(allow_null=True, help_text="The JSON Schema profiles are filled into.")
    custom_instructions = serializers.CharField(allow_null=True)


class EntitiesSettingsOutSerializer(serializers.Serializer):
    user = UserProfileSettingsOutSerializer()


class CapabilitiesSerializer(serializers.Serializer):
    entity_types = serializers.ListField(child=serializers.CharField(), help_text="Who has profiles.")
    operations = serializers.ListField(child=serializers.CharField(), help_text="What POST /v2/profiles/jobs/ runs.")
    llm_configured = serializers.BooleanField(help_text="Whether an LLM is configured to write profiles.")
    ready = serializers.BooleanField(help_text="Enabled, with a schema and an LLM: profiles can be generated.")
    sample_limit_max = serializers.IntegerField()


class ProfileSettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    entities = EntitiesSettingsOutSerializer()
    capabilities = CapabilitiesSerializer()
    updated_at = serializers.DateTimeField()


class ProfileJobCreateSerializer(KnownFieldsOnly, PlatformProjectRefSerializer):
    route, sent_along = "POST /v2/profiles/jobs/", SENT_ALONG
    operation = serializers.ChoiceField(
        choices=REQUESTED_OPERATIONS,
        help_text="trigger: one user's profile, now (entity_id). sample: a few users' (limit).",
    )
    entity_type = serializers.ChoiceField(choices=ENTITY_TYPES, default=ENTITY_TYPE)
    entity_id = StrictCharField(
        required=False, allow_null=True, max_length=255, help_text="trigger: the user_id whose profile to generate."
    )
    limit = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=SAMPLE_MAX,
        help_text=f"sample: how many users (default {SAMPLE_DEFAULT}).",
    )

    def validate(self, attrs):
        if attrs["operation"] == ProfileJob.Operation.TRIGGER:
            if not attrs.get("entity_id"):
                raise serializers.ValidationError({"entity_id": "A trigger needs the user's entity_id."})
            if attrs.get("limit") is not None:
                raise serializers.ValidationError({"limit": "limit is for sample runs; a trigger is one user."})
        elif attrs.get("entity_id"):
            raise serializers.ValidationError({"entity_id": "A sample run picks its users; send limit, not entity_id."})
        return attrs


class IdempotencyKeySerializer(serializers.Serializer):
    key = StrictCharField(required=False, allow_blank=True, max_length=255)


class ProfileJobCreatedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ProfileJob.Status.choices)
    status_url = serializers.CharField(help_text="GET it to follow the job (get_profile_job).")
    operation = serializers.ChoiceField(choices=ProfileJob.Operation.choices)
    entity_type = serializers.ChoiceField(choices=ENTITY_TYPES)
    entity_count_reserved = serializers.IntegerField(help_text="Users the job generates profiles for.")
    event_id = serializers.UUIDField(allow_null=True, help_text="Always null: profile jobs have no event.")
    replayed = serializers.BooleanField(help_text="True: an earlier request with this Idempotency-Key made the job.")
    sampled = serializers.IntegerField(required=False, help_text="sample: how many users were picked.")
    entity_ids = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="sample: the users picked."
    )


class ProfileJobDetailSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    operation = serializers.ChoiceField(choices=ProfileJob.Operation.choices)
    entity_type = serializers.ChoiceField(choices=ENTITY_TYPES)
    status = serializers.ChoiceField(
        choices=ProfileJob.Status.choices,
        help_text="pending, running, then succeeded (every profile generated or skipped) or failed (at least "
        "one generation failed; its profile says why).",
    )
    entity_ids = serializers.ListField(child=serializers.CharField())
    total = serializers.IntegerField(allow_null=True, help_text="Users in the job.")
    enumeration_complete = serializers.BooleanField(help_text="Always true: a job's users are chosen at once.")
    completed = serializers.IntegerField(help_text="succeeded + failed + skipped.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Users with no memory left when their turn came.")
    attempts = serializers.IntegerField(help_text="Runs started; an LLM failure that may pass means another.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ProfileJobStatusSerializer(serializers.Serializer):
    job = ProfileJobDetailSerializer()


class ProfileSerializer(serializers.Serializer):
    profile = serializers.JSONField(help_text="The object the LLM filled in under the schema; {} before the first.")
    status = serializers.ChoiceField(
        choices=PROFILE_STATUSES,
        help_text="succeeded (the profile holds content), pending (a generation is queued or running), failed "
        "(`error` says why), not_enabled (profiles are off or not configured; `error` says what is missing), "
        "insufficient_data (the user had no memory left when its generation ran). succeeded or insufficient_data "
        "with an `error`: the last refresh was given up (WORKER_MAX_ATTEMPTS), and the profile is the one before.",
    )
    entity_type = serializers.ChoiceField(choices=ENTITY_TYPES)
    entity_id = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True, help_text="When the profile was last filled in.")
    generation_count = serializers.IntegerField()
    error = serializers.CharField(
        allow_null=True,
        help_text="failed: why the last generation failed. not_enabled: what is missing. succeeded or "
        "insufficient_data: a refresh was given up after WORKER_MAX_ATTEMPTS started runs, and none is queued again "
        "until the user's memories change or a generation is asked for (generate_profile). Otherwise null.",
    )
