"""Profile routes: thin, as every view; the work is in profiles.services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from entities.selectors import parse_entity_id
from mem0server.headers import header_text
from mem0server.schema import errors
from mem0server.serializers import validated
from memories.configuration import server_config_current
from platform_api.serializers import PlatformProjectRefSerializer
from platform_api.views import PlatformView
from profiles import selectors, services
from profiles.models import ProfileJob
from profiles.serializers import (
    IdempotencyKeySerializer,
    ProfileJobCreatedSerializer,
    ProfileJobCreateSerializer,
    ProfileJobStatusSerializer,
    ProfileSerializer,
    ProfileSettingsSerializer,
    ProfileSettingsUpdateSerializer,
)

TAGS = ["platform"]
NOT_YOURS = errors(404)  # another organisation's or project's ids, as on every Platform route
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Sent again with the same body, it answers the job the first request started (replayed: true) "
    "instead of starting another; with another body, 409.",
)


def _settings(stored) -> dict:
    llm_configured = server_config_current().llm.client is not None
    return {
        "enabled": stored.enabled,
        "entities": {
            "user": {"schema": stored.schema, "custom_instructions": stored.custom_instructions},
        },
        "capabilities": {
            "entity_types": [services.ENTITY_TYPE],
            "operations": [ProfileJob.Operation.TRIGGER, ProfileJob.Operation.SAMPLE],
            "llm_configured": llm_configured,
            "ready": services.why_not_ready(stored) is None,
            "sample_limit_max": services.SAMPLE_MAX,
        },
        "updated_at": stored.updated_at,
    }


def status_url(job: ProfileJob) -> str:
    return f"/v2/profiles/jobs/{job.id}/"


class ProfileSettingsView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The caller's profile settings: on or off, and the users' schema and instructions",
        operation_id="platform_profile_settings_get",
        parameters=[PlatformProjectRefSerializer],
        responses={200: ProfileSettingsSerializer, **NOT_YOURS},
    )
    def get(self, request):
        validated(PlatformProjectRefSerializer, request.query_params)
        return Response(ProfileSettingsSerializer(_settings(services.settings_get(principal=request.user))).data)

    @extend_schema(
        tags=TAGS,
        summary="Change the profile settings (only the fields sent)",
        description="`enabled` is project-wide; `schema` and `custom_instructions` go under `entities.user` (null "
        "clears one). Every property of the schema needs a description. Answers the settings as stored.",
        operation_id="platform_profile_settings_update",
        request=ProfileSettingsUpdateSerializer,
        responses={200: ProfileSettingsSerializer, **NOT_YOURS},
    )
    def post(self, request):
        data = validated(ProfileSettingsUpdateSerializer, request.data)
        user = (data.get("entities") or {}).get("user") or {}
        stored = services.settings_update(
            principal=request.user,
            enabled=data.get("enabled"),
            schema=user.get("schema", services.UNSET),
            custom_instructions=user.get("custom_instructions", services.UNSET),
        )
        return Response(ProfileSettingsSerializer(_settings(stored)).data)


class ProfileJobsView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="Generate profiles in the background: one user now (trigger), or a few (sample)",
        description="202 with the job at once; GET its status_url to follow it, and GET a user's profile for the "
        "result. 400 when profiles are off, have no schema, or no LLM is configured; 404 for a user with no "
        "memory; 409 while another sample run is in progress, or for an Idempotency-Key used for another request.",
        operation_id="platform_profile_jobs_create",
        parameters=[IDEMPOTENCY_KEY],
        request=ProfileJobCreateSerializer,
        responses={
            202: ProfileJobCreatedSerializer,
            200: ProfileJobCreatedSerializer,
            **errors(404, 409),
        },
    )
    def post(self, request):
        data = validated(ProfileJobCreateSerializer, request.data)
        key = validated(IdempotencyKeySerializer, {"key": header_text(request, "Idempotency-Key") or ""})["key"]
        job, replayed = services.job_create(
            principal=request.user,
            operation=data["operation"],
            entity_id=data.get("entity_id"),
            limit=data.get("limit"),
            idempotency_key=key or None,
        )
        body = {
            "job_id": job.id,
            "status": job.status,
            "status_url": status_url(job),
            "operation": job.operation,
            "entity_type": job.entity_type,
            "entity_count_reserved": len(job.entity_ids),
            "event_id": None,
            "replayed": replayed,
        }
        if job.operation == ProfileJob.Operation.SAMPLE:
            body.update(sampled=len(job.entity_ids), entity_ids=job.entity_ids)
        answer = ProfileJobCreatedSerializer(body).data
        return Response(answer, status=status.HTTP_200_OK if replayed else status.HTTP_202_ACCEPTED)


class ProfileJobView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="One profile generation job and its progress",
        operation_id="platform_profile_job_get",
        parameters=[PlatformProjectRefSerializer],
        responses=ProfileJobStatusSerializer,
    )
    def get(self, request, job_id: str):
        validated(PlatformProjectRefSerializer, request.query_params)
        job = selectors.job_get(principal=request.user, job_id=job_id)
        completed = job.succeeded + job.failed + job.skipped
        detail = {
            "id": job.id,
            "operation": job.operation,
            "entity_type": job.entity_type,
            "status": job.status,
            "entity_ids": job.entity_ids,
            "total": len(job.entity_ids),
            "enumeration_complete": True,
            "completed": completed,
            "succeeded": job.succeeded,
            "failed": job.failed,
            "skipped": job.skipped,
            "attempts": job.attempts,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "finished_at": job.finished_at,
        }
        return Response(ProfileJobStatusSerializer({"job": detail}).data)


class UserProfileView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="A user's profile, and where its generation stands",
        description="Branch on `status`. When profiles are on and configured, a user whose profile was never "
        "generated gets it queued now (pending), and a profile whose user's memories changed since gets a refresh "
        "queued while the current one is answered. 404 for a user the caller has no memory of.",
        operation_id="platform_user_profile_get",
        parameters=[
            OpenApiParameter("entity_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The user_id."),
            PlatformProjectRefSerializer,
        ],
        responses=ProfileSerializer,
    )
    def get(self, request, entity_id: str):
        validated(PlatformProjectRefSerializer, request.query_params)
        state = services.profile_get(principal=request.user, entity_id=parse_entity_id(entity_id))
        return Response(ProfileSerializer(state).data)
