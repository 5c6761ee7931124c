"""Entity endpoints: parse with a serializer, call one service or selector, serialize the answer."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import IsAdmin
from entities import selectors, services
from entities.serializers import (
    EntityDeleteResponseSerializer,
    EntityListQuerySerializer,
    EntitySerializer,
)
from mem0server.paging import NEXT_CURSOR_HEADER, next_page_link
from mem0server.serializers import unknown_params_refuse, validated

TAGS = ["entities"]


class EntitiesView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="List users, agents, apps and runs with their memory counts",
        operation_id="entities_list",
        parameters=[EntityListQuerySerializer, NEXT_CURSOR_HEADER],
        responses=EntitySerializer(many=True),
    )
    def get(self, request):
        data = validated(EntityListQuerySerializer, request.query_params)
        page = selectors.entities_list(
            principal=request.user, entity_type=data.get("type"), limit=data["limit"], cursor=data.get("cursor")
        )
        response = Response(EntitySerializer(page.results, many=True).data)
        if page.next_cursor:  # the body stays a plain list (Mem0's shape); the next page is announced in headers
            next_page_link(response, request, header="X-Next-Cursor", param="cursor", value=page.next_cursor)
        return response


class EntityDetailView(APIView):
    permission_classes = [*APIView.permission_classes, IsAdmin]

    @extend_schema(
        tags=TAGS,
        summary="Delete every memory of a user, agent, app or run (admin)",
        operation_id="entity_delete",
        parameters=[
            OpenApiParameter(
                "entity_type",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=["user", "agent", "app", "run", "users", "agents", "apps", "runs"],
                description="user, agent, app or run; the plurals users, agents, apps, runs are accepted too.",
            ),
        ],
        responses={200: EntityDeleteResponseSerializer},
    )
    def delete(self, request, entity_type: str, entity_id: str):
        # It deletes every memory of the entity: a parameter that looks like it narrows that is refused.
        unknown_params_refuse(
            request.query_params,
            (),
            takes="DELETE /entities/{type}/{id} takes none: it deletes every memory of the entity. To delete only "
            "some, use DELETE /v1/memories/?filters=...",
        )
        deleted = services.entity_delete(
            principal=request.user,
            entity_type=selectors.parse_entity_type(entity_type),
            entity_id=selectors.parse_entity_id(entity_id),
        )
        return Response({"message": "Entity deleted", "deleted": deleted.memories})
