"""Platform routes beside the memory ones: entities, batches, feedback, stats and summary.

Thin, as everywhere: parse with a serializer, call one service or selector, serialize the answer. Tenancy is
the services': a member key sees and changes only its own account's memories (its "project"), admin
credentials all of them. The Platform's entity delete is therefore not admin-only, unlike the OSS
`DELETE /entities/…`: on the Platform a key deletes its own project's entities, and a member's delete reaches only
its own account's memories.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from entities import selectors as entity_selectors
from entities.selectors import ENTITY_FIELDS
from mem0server.schema import AutoSchema, errors
from mem0server.serializers import validated
from memories import selectors as memory_selectors
from memories import services as memory_services
from memories.selectors import parse_memory_id
from memories.summaries import memories_summarize
from platform_api import extra_services, services
from platform_api.extra_serializers import (
    BatchDeleteRequestSerializer,
    BatchUpdateRequestSerializer,
    EntityDeletedSerializer,
    EntityListQuerySerializer,
    FeedbackRequestSerializer,
    FeedbackResponseSerializer,
    MessageSerializer,
    PlatformEntityListSerializer,
    PlatformEntitySerializer,
    StatsSerializer,
    SummaryRequestSerializer,
    SummaryResponseSerializer,
)
from platform_api.serializers import PlatformEntityMemoriesQuerySerializer, PlatformMemoryPageSerializer
from platform_api.views import PlatformView, page_answer, previous_page

ENTITY_TYPE = OpenApiParameter(
    "entity_type",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=["user", "agent", "app", "run", "users", "agents", "apps", "runs"],
    description="user, agent, app or run (the plurals are accepted too).",
)
ENTITY_ID = OpenApiParameter(
    "entity_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The user_id, agent_id, app_id or run_id."
)
# Operations that embed text: a vector-size clash with the stored memories (409) or a failing provider.
EMBEDDING_ERRORS = errors(409, 502, 504)


def _owner(request) -> str:
    """An entity's owner as Mem0 names it: the caller's account (its email; the admin key's ADMIN_EMAIL, or "admin")."""
    return services.user_email(principal=request.user) or "admin"


def _entity(entity, owner: str) -> dict:
    return {
        "id": entity.id,
        "name": entity.id,
        "type": entity.type,
        "total_memories": entity.total_memories,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
        "owner": owner,
        "metadata": None,
    }


class PlatformEntitiesView(PlatformView):
    @extend_schema(
        tags=["platform"],
        summary="List the users, agents, apps and runs of the caller's memories",
        operation_id="platform_entities_list",
        parameters=[EntityListQuerySerializer],
        responses=PlatformEntityListSerializer,
    )
    def get(self, request):
        query = validated(EntityListQuerySerializer, request.query_params)
        page, page_size = query["page"], query.get("page_size")
        listing = entity_selectors.entities_page(principal=request.user, page=page, page_size=page_size)
        size, owner = page_size or max(listing.count, 1), _owner(request)

        def link(number: int | None) -> str | None:
            if number is None:
                return None
            return request.build_absolute_uri(f"{request.path}?page={number}&page_size={size}")

        body = {
            "count": listing.count,
            "next": link(page + 1) if page * size < listing.count else None,
            "previous": link(previous_page(page, listing.count, size)) if page_size else None,
            "results": [_entity(entity, owner) for entity in listing.results],
            **{f"total_{kind}s": listing.totals[kind] for kind in ENTITY_FIELDS},
        }
        return Response(PlatformEntityListSerializer(body).data)


class PlatformEntityDetailView(PlatformView):
    @extend_schema(
        tags=["platform"],
        summary="One user, agent, app or run with its memory count",
        operation_id="platform_entity_get",
        parameters=[ENTITY_TYPE, ENTITY_ID],
        responses=PlatformEntitySerializer,
    )
    def get(self, request, entity_type: str, entity_id: str):
        entity = entity_selectors.entity_get(
            principal=request.user,
            entity_type=entity_selectors.parse_entity_type(entity_type),
            entity_id=entity_selectors.parse_entity_id(entity_id),
        )
        return Response(PlatformEntitySerializer(_entity(entity, _owner(request))).data)

    @extend_schema(
        tags=["platform"],
        summary="Delete every memory of a user, agent, app or run (the caller's own)",
        description="Idempotent: an entity with no memories left answers 200 with `deleted: 0`, so the SDKs' "
        "delete_users() and reset() finish even when deleting one entity already removed another's memories.",
        operation_id="platform_entity_delete",
        parameters=[ENTITY_TYPE, ENTITY_ID],
        responses={200: EntityDeletedSerializer},
    )
    def delete(self, request, entity_type: str, entity_id: str):
        entity_type = entity_selectors.parse_entity_type(entity_type)
        deleted = memory_services.memories_delete_scope(
            principal=request.user,
            scope={ENTITY_FIELDS[entity_type]: entity_selectors.parse_entity_id(entity_id)},
        )
        return Response({"message": "Entity deleted successfully.", "deleted": deleted.memories})


class PlatformEntityMemoriesView(PlatformView):
    @extend_schema(
        tags=["platform"],
        summary="The memories of a user, agent, app or run (the caller's own), newest first, paged",
        operation_id="platform_entity_memories",
        parameters=[ENTITY_TYPE, ENTITY_ID, PlatformEntityMemoriesQuerySerializer],
        responses=PlatformMemoryPageSerializer,
    )
    def get(self, request, entity_type: str, entity_id: str):
        entity_type = entity_selectors.parse_entity_type(entity_type)
        query = validated(PlatformEntityMemoriesQuerySerializer, request.query_params)
        found = memory_selectors.memories_list(
            principal=request.user,
            scope={ENTITY_FIELDS[entity_type]: entity_selectors.parse_entity_id(entity_id)},
            top_k=query["page_size"],
            page=query["page"],
            with_count=True,
        )
        answer = page_answer(request, found, query["page"], query["page_size"])
        return Response(PlatformMemoryPageSerializer(answer).data)


class PlatformEntityHistoryMemoriesView(PlatformEntityMemoriesView):
    """The same, for the ids the route of a memory's history would take (user "history"); documented once, above."""

    schema = None


class PlatformEntityDeleteV1View(PlatformEntityDetailView):
    """Mem0's older path; its entity_id is the `id` GET /v1/entities/ lists, which here is the name."""

    http_method_names = ["delete", "options"]

    @extend_schema(
        tags=["platform"],
        summary="Delete every memory of a user, agent, app or run (older path)",
        operation_id="platform_entity_delete_v1",
        parameters=[ENTITY_TYPE, ENTITY_ID],
        responses={200: EntityDeletedSerializer},
    )
    def delete(self, request, entity_type: str, entity_id: str):
        return super().delete(request, entity_type, entity_id)


class BodyOnDeleteSchema(AutoSchema):
    """Mem0's DELETE /v1/batch/ carries a JSON body, which drf-spectacular documents only for PUT, PATCH and POST."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class BatchView(PlatformView):
    schema = BodyOnDeleteSchema()

    @extend_schema(
        tags=["platform"],
        summary="Update up to 1000 memories, all or nothing",
        operation_id="platform_batch_update",
        request=BatchUpdateRequestSerializer,
        responses={200: MessageSerializer, **errors(404), **EMBEDDING_ERRORS},
    )
    def put(self, request):
        params = BatchUpdateRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        updated = memory_services.memories_update_batch(principal=request.user, changes=params.changes())
        return Response({"message": f"Successfully updated {updated} memories"})

    @extend_schema(
        tags=["platform"],
        summary="Delete up to 1000 memories, all or nothing",
        operation_id="platform_batch_delete",
        request=BatchDeleteRequestSerializer,
        responses={200: MessageSerializer, **errors(404)},
    )
    def delete(self, request):
        data = validated(BatchDeleteRequestSerializer, request.data)
        deleted = memory_services.memories_delete_batch(
            principal=request.user, memory_ids=[item["memory_id"] for item in data["memories"]]
        )
        return Response({"message": f"Successfully deleted {deleted} memories"})


class FeedbackView(PlatformView):
    @extend_schema(
        tags=["platform"],
        summary="Give feedback on one memory (kept for the operator, in the Django admin)",
        operation_id="platform_feedback",
        request=FeedbackRequestSerializer,
        responses={200: FeedbackResponseSerializer, **errors(404)},
    )
    def post(self, request):
        data = validated(FeedbackRequestSerializer, request.data)
        feedback = extra_services.feedback_create(
            principal=request.user,
            memory_id=parse_memory_id(data["memory_id"]),
            feedback=data.get("feedback"),
            feedback_reason=data.get("feedback_reason"),
        )
        return Response(FeedbackResponseSerializer(feedback).data)


class StatsView(PlatformView):
    @extend_schema(
        tags=["platform"],
        summary="Counts of the caller's memories by scope, and of their history events",
        operation_id="platform_stats",
        responses=StatsSerializer,
    )
    def get(self, request):
        return Response(StatsSerializer(memory_selectors.memories_stats(principal=request.user)).data)


class SummaryView(PlatformView):
    @extend_schema(
        tags=["platform"],
        summary="An LLM-written summary of the caller's memories that pass the filters",
        description="Needs an LLM (400 saying how to configure one otherwise). At most the 200 newest memories "
        "are shown to the model.",
        operation_id="platform_summary",
        request=SummaryRequestSerializer,
        responses={200: SummaryResponseSerializer, **errors(502, 504)},
    )
    def post(self, request):
        data = validated(SummaryRequestSerializer, request.data)
        summary = memories_summarize(principal=request.user, filters=data.get("filters"))
        return Response(SummaryResponseSerializer(summary).data)
