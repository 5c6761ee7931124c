"""Platform memory, ping and project routes: parse with a serializer, call one memories service or selector,
answer in the official SDKs' shapes. Older API versions are subclasses that differ only in their schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from events import services as event_services
from events.serializers import EventQueuedSerializer
from mem0server.exceptions import InvalidInput
from mem0server.paging import NEXT_PAGE_HEADER, next_page_link
from mem0server.schema import errors
from mem0server.serializers import validated
from memories import selectors
from memories import services as memories_services
from memories.serializers import AddResponseSerializer, AddResultSerializer, MemorySerializer
from platform_api import services
from platform_api.serializers import (
    PlatformAddRequestSerializer,
    PlatformDeleteAllQuerySerializer,
    PlatformDeleteAllResponseSerializer,
    PlatformDeletedResponseSerializer,
    PlatformDeleteOneQuerySerializer,
    PlatformEventsQuerySerializer,
    PlatformEventsResponseSerializer,
    PlatformHistoryQuerySerializer,
    PlatformHistorySerializer,
    PlatformListRequestSerializer,
    PlatformListV1QuerySerializer,
    PlatformMemoryPageSerializer,
    PlatformMemoryPageV11Serializer,
    PlatformOrganizationMembersSerializer,
    PlatformOrganizationSerializer,
    PlatformPageQuerySerializer,
    PlatformPingQuerySerializer,
    PlatformPingResponseSerializer,
    PlatformProjectMembersSerializer,
    PlatformProjectQuerySerializer,
    PlatformProjectRefSerializer,
    PlatformProjectSerializer,
    PlatformProjectUpdatedSerializer,
    PlatformProjectUpdateSerializer,
    PlatformSearchRequestSerializer,
    PlatformSearchResponseSerializer,
    PlatformSearchResultSerializer,
    PlatformSearchV11Serializer,
    PlatformUpdateRequestSerializer,
    relations_field,
)
from requestlog.middleware import record_source

TAGS = ["platform"]
# Every Platform operation: ids of another organisation or project (query, body or path) are a 404.
NOT_YOURS = errors(404)
EMBEDDING_ERRORS = errors(404, 409, 502, 504)


BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PlatformView(APIView):
    """Checks the org_id / project_id a request names (query, body or path) once the caller is known."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        body = request.data if isinstance(request.data, dict) else {}
        given = {
            field: kwargs.get(field) or request.query_params.get(field) or body.get(field)
            for field in ("org_id", "project_id")
        }
        # A list or an object is a malformed request (400), not an unknown organisation (404).
        ids = validated(PlatformProjectRefSerializer, {k: v for k, v in given.items() if v is not None})
        services.project_check(principal=request.user, org_id=ids.get("org_id"), project_id=ids.get("project_id"))

    def finalize_response(self, request, response, *args, **kwargs):
        """A body's `source` (OpenClaw's adds, Zapier's calls) names the client in the request log. Read once the
        request succeeded, so its body was parsed already (a refused one is never parsed for this)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        body = request.data if response.status_code < 400 and request.method in BODY_METHODS else None
        if isinstance(body, dict) and isinstance(source := body.get("source"), str):
            record_source(response, source)
        return response


class PingView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="Check the API key; tells the caller's org_id and project_id",
        operation_id="platform_ping",
        parameters=[PlatformPingQuerySerializer],
        responses={200: PlatformPingResponseSerializer, **NOT_YOURS},
    )
    def get(self, request):
        validated(PlatformPingQuerySerializer, request.query_params)
        org_id, project_id = services.project_ids(principal=request.user)
        return Response(
            PlatformPingResponseSerializer(
                {
                    "status": "ok",
                    "message": "API key is valid.",
                    "org_id": org_id,
                    "project_id": project_id,
                    "user_email": services.user_email(principal=request.user),
                }
            ).data
        )


# --- the older routes' answers ----------------------------------------------------------------------------


def wants_results_object(data: dict) -> bool:
    """Mem0's older routes answer {"results": [...]} only for output_format "v1.1" (what Python mem0ai 0.1.x and
    1.0.x send); without it, a bare list (what the TypeScript client 1.x/2.x and 0.1.x's search read)."""
    return data.get("output_format") == "v1.1"


def older_answer(data: dict, answer: dict, status_code: int = status.HTTP_200_OK) -> Response:
    """`answer` ({"results": [...], ...}) as an older route writes it for this request: for "v1.1", with Mem0's
    `relations`, empty (no graph is kept here; Mem0's Platform leaves them empty too)."""
    if wants_results_object(data):
        return Response({**answer, "relations": []}, status=status_code)
    return Response(answer["results"], status=status_code)


def one_of(component_name: str, *serializers) -> PolymorphicProxySerializer:
    """An answer that is one of these shapes (a bare list or an object), for the schema."""
    return PolymorphicProxySerializer(
        component_name=component_name, serializers=list(serializers), resource_type_field_name=None, many=False
    )


OLDER_LIST_ANSWER = one_of("PlatformMemoryListOlder", MemorySerializer(many=True), PlatformMemoryPageV11Serializer)
OLDER_SEARCH_ANSWER = one_of(
    "PlatformSearchOlder", PlatformSearchResultSerializer(many=True), PlatformSearchV11Serializer
)


# --- add ----------------------------------------------------------------------------------------------------

ADD_SCHEMA = {
    "tags": TAGS,
    "request": PlatformAddRequestSerializer,
    "responses": {200: AddResponseSerializer, 202: EventQueuedSerializer, **EMBEDDING_ERRORS},
}


def _add_sync(request, data) -> Response:
    results = services.memories_add_payload(principal=request.user, payload=services.add_payload(data))
    return Response(AddResponseSerializer({"results": results}).data)


def _add_async(request, data) -> Response:
    event = event_services.event_add_create(principal=request.user, payload=services.add_payload(data))
    return Response(EventQueuedSerializer(event).data, status=status.HTTP_202_ACCEPTED)


class AddView(PlatformView):
    @extend_schema(
        summary="Add memories in the background: answers an event id at once (202) unless async_mode is false",
        operation_id="platform_memories_add",
        **ADD_SCHEMA,
    )
    def post(self, request):
        data = validated(PlatformAddRequestSerializer, request.data)
        if data.get("async_mode") is False:
            return _add_sync(request, data)
        return _add_async(request, data)


# --- get_all ------------------------------------------------------------------------------------------------

LIST_SCHEMA = {
    "tags": TAGS,
    "parameters": [PlatformPageQuerySerializer],
    "request": PlatformListRequestSerializer,
    "responses": {200: PlatformMemoryPageSerializer, **NOT_YOURS},
}


def page_link(request, page: int | None) -> str | None:
    if page is None:
        return None
    url = request.build_absolute_uri()
    return replace_query_param(url, "page", page) if page > 1 else remove_query_param(url, "page")


def previous_page(page: int, count: int, page_size: int) -> int | None:
    """The page before `page`, or past the last page the last one (not an empty page before it); None on the first."""
    if page <= 1:
        return None
    last = max(1, -(-count // page_size)) if page_size > 0 else 1
    return min(page - 1, last)


def page_answer(request, found, page: int, page_size: int) -> dict:
    """A Platform list's `{count, next, previous, results}` for page `page` of `found` (count, next_page, results)."""
    return {
        "count": found.count,
        "next": page_link(request, found.next_page),
        "previous": page_link(request, previous_page(page, found.count, page_size)),
        "results": found.results,
    }


def paging(name: str, params, query: dict, body: dict) -> int:
    """page or page_size: the query's when it has one (Mem0's reference: it takes precedence, and the SDKs send
    them there), else the body's, else the query serializer's default."""
    return query[name] if name in params else body.get(name, query[name])


class ListView(PlatformView):
    @extend_schema(summary="List memories by filters, paged", operation_id="platform_memories_list", **LIST_SCHEMA)
    def post(self, request):
        query = validated(PlatformPageQuerySerializer, request.query_params)
        body = validated(PlatformListRequestSerializer, request.data)
        page, page_size = (paging(name, request.query_params, query, body) for name in ("page", "page_size"))
        found = selectors.memories_list(
            principal=request.user,
            scope={},
            filters=body["filters"],
            top_k=page_size,
            page=page,
            show_expired=body["show_expired"],
            with_count=True,
        )
        answer = PlatformMemoryPageSerializer(
            page_answer(request, found, page, page_size), context={"fields": body.get("fields")}
        )
        return Response(answer.data)


# --- search -------------------------------------------------------------------------------------------------

SEARCH_SCHEMA = {
    "tags": TAGS,
    "request": PlatformSearchRequestSerializer,
    "responses": {200: PlatformSearchResponseSerializer, **EMBEDDING_ERRORS},
}


class SearchView(PlatformView):
    @extend_schema(summary="Search memories", operation_id="platform_memories_search", **SEARCH_SCHEMA)
    def post(self, request):
        data = validated(PlatformSearchRequestSerializer, request.data)
        outcome = selectors.memories_search_reranked(
            rerank=data["rerank"],
            principal=request.user,
            query=data["query"],
            filters=data["filters"],
            top_k=data["top_k"],
            threshold=data["threshold"],
            show_expired=data["show_expired"],
            reference_date=data.get("reference_date"),
        )
        serializer = PlatformSearchResponseSerializer(
            {"results": outcome.results, "rerank": outcome.rerank}, context={"fields": data.get("fields")}
        )
        return Response(serializer.data)


# --- one memory ---------------------------------------------------------------------------------------------


class MemoryView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="Get a memory",
        operation_id="platform_memory_get",
        parameters=[PlatformProjectRefSerializer],
        responses=MemorySerializer,
    )
    def get(self, request, memory_id: str):
        validated(PlatformProjectRefSerializer, request.query_params)
        memory = selectors.memory_get(principal=request.user, memory_id=selectors.parse_memory_id(memory_id))
        return Response(MemorySerializer(memory).data)

    @extend_schema(
        tags=TAGS,
        summary="Update a memory's text, metadata, expiration or timestamp; answers the memory",
        operation_id="platform_memory_update",
        parameters=[PlatformProjectRefSerializer],
        request=PlatformUpdateRequestSerializer,
        responses={200: MemorySerializer, **EMBEDDING_ERRORS},
    )
    def put(self, request, memory_id: str):
        memory_uuid = selectors.parse_memory_id(memory_id)
        data = validated(PlatformUpdateRequestSerializer, request.data)
        changes = {key: data[key] for key in ("text", "metadata", "expiration_date") if key in data}
        if "timestamp" in data:
            changes["occurred_at"] = data["timestamp"]
        memory = memories_services.memory_update(principal=request.user, memory_id=memory_uuid, **changes)
        return Response(MemorySerializer(memory).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete a memory",
        operation_id="platform_memory_delete",
        parameters=[PlatformDeleteOneQuerySerializer],
        responses={200: PlatformDeletedResponseSerializer},
    )
    def delete(self, request, memory_id: str):
        memory_uuid = selectors.parse_memory_id(memory_id)
        validated(PlatformDeleteOneQuerySerializer, request.query_params)
        memories_services.memory_delete(principal=request.user, memory_id=memory_uuid)
        return Response({"message": "Memory deleted successfully!"})


class HistoryView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="A memory's history, oldest first (a page of it with `page`)",
        operation_id="platform_memory_history",
        parameters=[PlatformHistoryQuerySerializer, NEXT_PAGE_HEADER],
        responses=PlatformHistorySerializer(many=True),
    )
    def get(self, request, memory_id: str):
        memory_uuid = selectors.parse_memory_id(memory_id)
        query = validated(PlatformHistoryQuerySerializer, request.query_params)
        paging = {key: query[key] for key in ("page", "page_size") if key in query}
        rows, next_page = selectors.memory_history(principal=request.user, memory_id=memory_uuid, scoped=True, **paging)
        response = Response(PlatformHistorySerializer(rows, many=True).data)
        if next_page:
            next_page_link(response, request, header="X-Next-Page", param="page", value=next_page)
        return response


class MemoryEventsView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="Every memory's history, newest first, a page at a time (Mem0 calls them events)",
        operation_id="platform_memory_events",
        parameters=[PlatformEventsQuerySerializer],
        responses={200: PlatformEventsResponseSerializer, **NOT_YOURS},
    )
    def get(self, request):
        query = validated(PlatformEventsQuerySerializer, request.query_params)
        page, limit = query["page"], query["limit"]
        rows, count = selectors.history_newest_page(principal=request.user, page=page, page_size=limit)
        url = request.build_absolute_uri()
        body = {
            "count": count,
            "next": replace_query_param(url, "page", page + 1) if page * limit < count else None,
            "previous": replace_query_param(url, "page", before)
            if (before := previous_page(page, count, limit))
            else None,
            "results": rows,
        }
        return Response(PlatformEventsResponseSerializer(body).data)


# --- v1/memories/: add (older clients) and delete by scope ----------------------------------------------------


class MemoriesV1View(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="Add memories (older clients' route): runs before answering unless async_mode is true; a bare list "
        'unless output_format is "v1.1"',
        operation_id="platform_memories_add_v1",
        deprecated=True,
        request=PlatformAddRequestSerializer,
        responses={
            200: one_of(
                "PlatformAddV1",
                AddResultSerializer(many=True),
                inline_serializer(
                    "PlatformAddResults", {"results": AddResultSerializer(many=True), "relations": relations_field()}
                ),
            ),
            202: one_of(
                "PlatformAddQueuedV1",
                EventQueuedSerializer(many=True),
                inline_serializer(
                    "PlatformAddQueuedResults",
                    {"results": EventQueuedSerializer(many=True), "relations": relations_field()},
                ),
            ),
            **EMBEDDING_ERRORS,
        },
    )
    def post(self, request):
        data = validated(PlatformAddRequestSerializer, request.data)
        if data.get("async_mode"):
            # Mem0's answer then: the queued event as the one item of the results.
            queued = _add_async(request, data)
            return older_answer(data, {"results": [queued.data]}, queued.status_code)
        return older_answer(data, _add_sync(request, data).data)

    @extend_schema(
        tags=TAGS,
        summary="List memories by the scope ids in the query (older clients' get_all): a list, or a page when "
        "both page and page_size are given",
        operation_id="platform_memories_list_v1",
        deprecated=True,
        parameters=[PlatformListV1QuerySerializer],
        responses={200: OLDER_LIST_ANSWER, **NOT_YOURS},
    )
    def get(self, request):
        query = validated(PlatformListV1QuerySerializer, request.query_params)
        page = query.get("page", 1)
        found = selectors.memories_list(
            principal=request.user,
            scope={},
            filters=query["filters"],
            top_k=query["page_size"] if query["paged"] else query["limit"],
            page=page,
            with_count=query["paged"],
        )
        if query["paged"]:
            return Response(PlatformMemoryPageSerializer(page_answer(request, found, page, query["page_size"])).data)
        return Response(MemorySerializer(found.results, many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete the caller's memories of a scope (and filters)",
        operation_id="platform_memories_delete",
        parameters=[PlatformDeleteAllQuerySerializer],
        responses={200: PlatformDeleteAllResponseSerializer, **NOT_YOURS},
    )
    def delete(self, request):
        params = PlatformDeleteAllQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        deleted = memories_services.memories_delete_scope(
            principal=request.user,
            scope=params.scope(),
            filters=params.validated_data["filters"],
            any_of=params.validated_data["any_of"],
        )
        return Response({"message": "Memories deleted successfully!", "deleted": deleted.memories})


# --- older versions of list and search: the same views, their own operation ids --------------------------------


class ListV2View(ListView):
    @extend_schema(
        summary="List memories (older clients' route): a bare list unless paged (page and page_size) or "
        'output_format is "v1.1"',
        operation_id="platform_memories_list_v2",
        deprecated=True,
        **{**LIST_SCHEMA, "responses": {200: OLDER_LIST_ANSWER, **NOT_YOURS}},
    )
    def post(self, request):
        answer = super().post(request)
        paged = {"page", "page_size"} & {*request.query_params, *request.data}
        graph = not paged and wants_results_object(request.data)
        if graph and validated(PlatformListRequestSerializer, request.data).get("enable_graph"):
            return Response({**answer.data, "relations": []})  # as Mem0's get_all in its graph memory guide
        if paged or wants_results_object(request.data):
            return answer
        return Response(answer.data["results"])


class SearchV2View(SearchView):
    @extend_schema(
        summary='Search memories (older clients\' route): a bare list unless output_format is "v1.1"',
        operation_id="platform_memories_search_v2",
        deprecated=True,
        **{**SEARCH_SCHEMA, "responses": {200: OLDER_SEARCH_ANSWER, **EMBEDDING_ERRORS}},
    )
    def post(self, request):
        return older_answer(request.data, super().post(request).data)


class SearchV1View(SearchView):
    @extend_schema(
        summary='Search memories (older clients\' route): a bare list unless output_format is "v1.1"',
        operation_id="platform_memories_search_v1",
        deprecated=True,
        **{**SEARCH_SCHEMA, "responses": {200: OLDER_SEARCH_ANSWER, **EMBEDDING_ERRORS}},
    )
    def post(self, request):
        return older_answer(request.data, super().post(request).data)


# --- project ------------------------------------------------------------------------------------------------

PROJECT_PATH = [
    OpenApiParameter("org_id", str, OpenApiParameter.PATH, description="Yours (GET /v1/ping/), or 404."),
    OpenApiParameter("project_id", str, OpenApiParameter.PATH, description="Yours (GET /v1/ping/), or 404."),
]


def _project_data(request, project) -> dict:
    org_id, project_id = services.project_ids(principal=request.user)
    fields = {field: getattr(project, field) for field in services.PROJECT_FIELDS}
    return {"org_id": org_id, "project_id": project_id, **fields}


def refused(operation_id: str, why: str, parameters=PROJECT_PATH):
    """The schema of a project-management operation this server answers with a 400 saying why."""
    return extend_schema(
        tags=TAGS,
        summary=f"Refused: {why}",
        operation_id=operation_id,
        parameters=parameters,
        request=None,
        responses=errors(400),
    )


class ProjectView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The project's settings",
        operation_id="platform_project_get",
        parameters=[*PROJECT_PATH, PlatformProjectQuerySerializer],
        responses=PlatformProjectSerializer,
    )
    def get(self, request, org_id: str, project_id: str):
        fields = validated(PlatformProjectQuerySerializer, request.query_params).get("fields")
        project = services.project_settings_get(principal=request.user)
        return Response(PlatformProjectSerializer(_project_data(request, project), context={"fields": fields}).data)

    @extend_schema(
        tags=TAGS,
        summary="Change the project's settings (custom instructions reach the extraction prompt)",
        operation_id="platform_project_update",
        parameters=PROJECT_PATH,
        request=PlatformProjectUpdateSerializer,
        responses=PlatformProjectUpdatedSerializer,
    )
    def patch(self, request, org_id: str, project_id: str):
        changes = validated(PlatformProjectUpdateSerializer, request.data)
        project = services.project_settings_update(principal=request.user, changes=dict(changes))
        answer = {"message": "Project updated successfully.", **_project_data(request, project)}
        return Response(PlatformProjectUpdatedSerializer(answer).data)

    @refused("platform_project_delete", "a project here is its account's (the 400 says how to delete its memories)")
    def delete(self, request, org_id: str, project_id: str):
        raise InvalidInput(services.DELETE_REFUSAL)


class ProjectsView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The organization's projects: its account's one project",
        operation_id="platform_projects",
        parameters=PROJECT_PATH[:1],
        responses=PlatformProjectSerializer(many=True),
    )
    def get(self, request, org_id: str):
        validated(PlatformProjectRefSerializer, request.query_params)
        project = services.project_settings_get(principal=request.user)
        return Response(PlatformProjectSerializer([_project_data(request, project)], many=True).data)

    @refused("platform_project_create", "each account is one project here", parameters=PROJECT_PATH[:1])
    def post(self, request, org_id: str):
        raise InvalidInput(services.CREATE_REFUSAL)


class OrganizationsView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The caller's organizations: its account's one",
        operation_id="platform_organizations",
        responses=PlatformOrganizationSerializer(many=True),
    )
    def get(self, request):
        validated(PlatformProjectRefSerializer, request.query_params)
        return Response(PlatformOrganizationSerializer([services.organization(principal=request.user)], many=True).data)

    @refused("platform_organization_create", "each account is one organization here", parameters=[])
    def post(self, request):
        raise InvalidInput(services.ORG_CREATE_REFUSAL)


class OrganizationView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The caller's organization",
        operation_id="platform_organization_get",
        parameters=PROJECT_PATH[:1],
        responses=PlatformOrganizationSerializer,
    )
    def get(self, request, org_id: str):
        validated(PlatformProjectRefSerializer, request.query_params)
        return Response(PlatformOrganizationSerializer(services.organization(principal=request.user)).data)

    @refused("platform_organization_delete", "an organization here is its account's", parameters=PROJECT_PATH[:1])
    def delete(self, request, org_id: str):
        raise InvalidInput(services.ORG_DELETE_REFUSAL)


class OrganizationMembersView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The organization's members: its account, as OWNER",
        operation_id="platform_organization_members",
        parameters=PROJECT_PATH[:1],
        responses=PlatformOrganizationMembersSerializer,
    )
    def get(self, request, org_id: str):
        validated(PlatformProjectRefSerializer, request.query_params)
        members = services.organization_members(principal=request.user)
        return Response(PlatformOrganizationMembersSerializer({"members": members}).data)

    @refused("platform_organization_member_add", "an organization's one member is its account", PROJECT_PATH[:1])
    def post(self, request, org_id: str):
        raise InvalidInput(services.MEMBERS_REFUSAL)

    @refused("platform_organization_member_update", "an organization's one member is its account", PROJECT_PATH[:1])
    def put(self, request, org_id: str):
        raise InvalidInput(services.MEMBERS_REFUSAL)

    @refused("platform_organization_member_remove", "an organization's one member is its account", PROJECT_PATH[:1])
    def delete(self, request, org_id: str):
        raise InvalidInput(services.MEMBERS_REFUSAL)


class ProjectMembersView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="The project's members: its account, as OWNER",
        operation_id="platform_project_members",
        parameters=PROJECT_PATH,
        responses=PlatformProjectMembersSerializer,
    )
    def get(self, request, org_id: str, project_id: str):
        members = services.project_members(principal=request.user)
        return Response(PlatformProjectMembersSerializer({"members": members}).data)

    @refused("platform_project_member_add", "a project's one member is its account")
    def post(self, request, org_id: str, project_id: str):
        raise InvalidInput(services.MEMBERS_REFUSAL)

    @refused("platform_project_member_update", "a project's one member is its account")
    def put(self, request, org_id: str, project_id: str):
        raise InvalidInput(services.MEMBERS_REFUSAL)

    @refused("platform_project_member_remove", "a project's one member is its account")
    def delete(self, request, org_id: str, project_id: str):
        raise InvalidInput(services.MEMBERS_REFUSAL)
