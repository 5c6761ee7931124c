"""GET /v1/event/{event_id}/ and GET /v1/events/: the caller's own async-add events (Platform front door)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from events import selectors
from events.serializers import EventListQuerySerializer, EventPageSerializer, EventSerializer
from mem0server.schema import errors
from mem0server.serializers import validated
from platform_api.serializers import PlatformProjectRefSerializer
from platform_api.views import PlatformView, page_answer

TAGS = ["platform"]


class EventView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="An async add's event: PENDING, RUNNING, SUCCEEDED (with its results) or FAILED (with the error)",
        operation_id="platform_event_get",
        parameters=[PlatformProjectRefSerializer],
        responses=EventSerializer,
    )
    def get(self, request, event_id: str):
        event_uuid = selectors.parse_event_id(event_id)
        validated(PlatformProjectRefSerializer, request.query_params)
        event = selectors.event_get(principal=request.user, event_id=event_uuid)
        return Response(EventSerializer(event).data)


class EventListView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The caller's events, newest first, paged",
        operation_id="platform_events_list",
        parameters=[EventListQuerySerializer],
        responses={200: EventPageSerializer, **errors(404)},  # org_id / project_id not the caller's
    )
    def get(self, request):
        query = validated(EventListQuerySerializer, request.query_params)
        found = selectors.events_list(
            principal=request.user, page=query["page"], page_size=query["page_size"], status=query.get("status")
        )
        return Response(EventPageSerializer(page_answer(request, found, query["page"], query["page_size"])).data)
