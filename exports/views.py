"""POST /v1/exports/ and POST /v1/exports/get/: thin, as every view; the work is in services and selectors."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from exports import selectors, services
from exports.models import MemoryExport
from exports.serializers import (
    ExportCreatedSerializer,
    ExportCreateRequestSerializer,
    ExportFailedSerializer,
    ExportGetRequestSerializer,
    ExportPendingSerializer,
)
from mem0server.schema import errors
from mem0server.serializers import validated
from platform_api.views import PlatformView

TAGS = ["platform"]
PENDING_MESSAGE = "The memory export is not ready yet; ask again in a few seconds."


class ExportCreateView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="Start an export of the caller's memories that pass the filters",
        description="Answers at once; a background job builds the export. With a JSON Schema and an LLM "
        "configured, the LLM shapes the memories into the schema; otherwise the export is the memories as JSON.",
        operation_id="platform_exports_create",
        request=ExportCreateRequestSerializer,
        responses={201: ExportCreatedSerializer, **errors(404)},
    )
    def post(self, request):
        data = validated(ExportCreateRequestSerializer, request.data)
        export = services.export_create(
            principal=request.user,
            filters=data["filters"],
            schema=data.get("schema"),
            export_instructions=data.get("export_instructions") or "",
        )
        answer = ExportCreatedSerializer({"message": services.CREATED_MESSAGE, "id": export.id}).data
        return Response(answer, status=status.HTTP_201_CREATED)


class ExportGetView(PlatformView):
    @extend_schema(
        tags=TAGS,
        summary="An export's data: by memory_export_id, or the newest one matching the filters",
        description="200: the exported data (with a schema, the object the LLM filled in; otherwise "
        '{"memories": [...], "count", "truncated"}). 202: not ready yet. 409: the export failed, and why.',
        operation_id="platform_exports_get",
        request=ExportGetRequestSerializer,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The exported data."),
            202: ExportPendingSerializer,
            409: OpenApiResponse(ExportFailedSerializer, description="The export failed: `error` says why."),
            **errors(404),
        },
    )
    def post(self, request):
        data = validated(ExportGetRequestSerializer, request.data)
        if data.get("memory_export_id"):
            export = selectors.export_get(principal=request.user, export_id=data["memory_export_id"])
        else:
            export = selectors.export_latest(principal=request.user, filters=data["filters"])
        if export.status == MemoryExport.Status.SUCCEEDED:
            # The JSON Response(export.result) would answer, read from the database a memory at a time.
            return FileResponse(selectors.export_result_file(export=export), content_type="application/json")
        if export.status == MemoryExport.Status.FAILED:
            failed = {
                "detail": f"Memory export {export.id} failed: {export.error}",
                "id": export.id,
                "status": export.status,
                "error": export.error,
            }
            return Response(ExportFailedSerializer(failed).data, status=status.HTTP_409_CONFLICT)
        pending = {
            "id": export.id,
            "status": export.status,
            "message": PENDING_MESSAGE,
            "created_at": export.created_at,
        }
        return Response(ExportPendingSerializer(pending).data, status=status.HTTP_202_ACCEPTED)
