"""Memory endpoints: parse with a serializer, call one service or selector, serialize the answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import IsAdmin
from mem0server.paging import NEXT_PAGE_HEADER, next_page_link
from mem0server.schema import errors
from mem0server.serializers import unknown_params_refuse
from memories import selectors, services
from memories.serializers import (
    AddMemoryRequestSerializer,
    AddResponseSerializer,
    DeleteScopeQuerySerializer,
    HistoryQuerySerializer,
    HistorySerializer,
    ListMemoriesQuerySerializer,
    MemoryListResponseSerializer,
    MemorySerializer,
    MessageResponseSerializer,
    SearchRequestSerializer,
    SearchResponseSerializer,
    UpdateMemoryRequestSerializer,
)

TAGS = ["memories"]
# Operations that embed text: a vector-size clash with the stored memories (409) or a failing provider.
EMBEDDING_ERRORS = errors(409, 502, 504)


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


class MemoriesView(APIView):
    def get_permissions(self):
        if self.request.method == "DELETE":
            return [*super().get_permissions(), IsAdmin()]
        return super().get_permissions()

    @extend_schema(
        tags=TAGS,
        summary="Create memories",
        operation_id="memories_add",
        request=AddMemoryRequestSerializer,
        responses={200: AddResponseSerializer, **EMBEDDING_ERRORS},
    )
    def post(self, request):
        params = _validated(AddMemoryRequestSerializer, request.data)
        data = params.validated_data
        results = services.memories_add(
            principal=request.user,
            messages=[services.Message(**m) for m in data["messages"]],
            scope=params.scope(),
            metadata=data.get("metadata"),
            infer=data["infer"],
            expiration_date=data.get("expiration_date"),
            prompt=data.get("prompt") or None,
            memory_type=data.get("memory_type"),
            timestamp=data.get("timestamp"),
        )
        return Response(AddResponseSerializer({"results": results}).data)

    @extend_schema(
        tags=TAGS,
        summary="List memories",
        operation_id="memories_list",
        parameters=[ListMemoriesQuerySerializer],
        responses=MemoryListResponseSerializer,
    )
    def get(self, request):
        params = _validated(ListMemoriesQuerySerializer, request.query_params)
        data = params.validated_data
        page = selectors.memories_list(
            principal=request.user,
            scope=params.scope(),
            filters=data.get("filters"),
            top_k=data["top_k"],
            page=data.get("page"),
            cursor=data.get("cursor"),
            show_expired=data["show_expired"],
        )
        return Response(MemoryListResponseSerializer(page).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete all memories of a scope (admin)",
        operation_id="memories_delete_scope",
        parameters=[DeleteScopeQuerySerializer],
        responses={200: MessageResponseSerializer},  # a bare serializer on DELETE becomes "204 no body"
    )
    def delete(self, request):
        params = _validated(DeleteScopeQuerySerializer, request.query_params)
        services.memories_delete_scope(principal=request.user, scope=params.scope())
        return Response({"message": "All relevant memories deleted"})


class MemoryDetailView(APIView):
    @extend_schema(tags=TAGS, summary="Get a memory", operation_id="memory_get", responses=MemorySerializer)
    def get(self, request, memory_id: str):
        memory = selectors.memory_get(principal=request.user, memory_id=selectors.memory_id_from_path(memory_id))
        return Response(MemorySerializer(memory).data)

    @extend_schema(
        tags=TAGS,
        summary="Update a memory",
        operation_id="memory_update",
        request=UpdateMemoryRequestSerializer,
        responses={200: MessageResponseSerializer, **EMBEDDING_ERRORS},
    )
    def put(self, request, memory_id: str):
        memory_uuid = selectors.memory_id_from_path(memory_id)
        data = _validated(UpdateMemoryRequestSerializer, request.data).validated_data
        services.memory_update(principal=request.user, memory_id=memory_uuid, **data)
        return Response({"message": "Memory updated successfully!"})

    @extend_schema(
        tags=TAGS, summary="Delete a memory", operation_id="memory_delete", responses={200: MessageResponseSerializer}
    )
    def delete(self, request, memory_id: str):
        services.memory_delete(principal=request.user, memory_id=selectors.memory_id_from_path(memory_id))
        return Response({"message": "Memory deleted successfully"})


class MemoryHistoryView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Get a memory's history, oldest first (a page of it with `page`)",
        operation_id="memory_history",
        parameters=[HistoryQuerySerializer, NEXT_PAGE_HEADER],
        responses=HistorySerializer(many=True),
    )
    def get(self, request, memory_id: str):
        memory_uuid = selectors.memory_id_from_path(memory_id)
        query = _validated(HistoryQuerySerializer, request.query_params).validated_data
        rows, next_page = selectors.memory_history(principal=request.user, memory_id=memory_uuid, **query)
        response = Response(HistorySerializer(rows, many=True).data)
        if next_page:
            next_page_link(response, request, header="X-Next-Page", param="page", value=next_page)
        return response


class SearchView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Search memories",
        operation_id="memories_search",
        request=SearchRequestSerializer,
        responses={200: SearchResponseSerializer, **EMBEDDING_ERRORS},
    )
    def post(self, request):
        data = _validated(SearchRequestSerializer, request.data).validated_data
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
        serializer = SearchResponseSerializer(
            {"results": outcome.results, "rerank": outcome.rerank}, context={"explain": data["explain"]}
        )
        return Response(serializer.data)


class ResetView(APIView):
    permission_classes = [*APIView.permission_classes, IsAdmin]

    @extend_schema(
        tags=TAGS,
        summary="Delete every memory and its history (admin)",
        operation_id="memories_reset",
        request=None,
        responses=MessageResponseSerializer,
    )
    def post(self, request):
        # It deletes everything: a parameter that looks like it narrows that (`?user_id=bob`) is refused.
        body = request.data if isinstance(request.data, dict) else {}
        unknown_params_refuse(
            [*request.query_params, *body],
            (),
            what="parameter",
            takes="POST /reset takes none: it deletes every memory. To delete one scope: DELETE /memories?user_id=...",
        )
        services.memories_reset()
        return Response({"message": "All memories reset"})
