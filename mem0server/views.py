"""JSON answers for errors raised outside DRF views (unknown paths, crashes), and the health endpoint."""

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from mem0server.health import health_check
from mem0server.serializers import HealthSerializer


def bad_request(request, exception=None):
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return JsonResponse({"detail": f"Too many query parameters: at most {limit}."}, status=400)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


def not_found(request, exception=None):
    if request.path.startswith("/dashboard/"):
        return render(request, "dashboard/not_found.html", status=404)
    return JsonResponse({"detail": f"No endpoint at {request.path}; see /docs for the API."}, status=404)


def server_error(request):
    return JsonResponse(
        {"detail": "Internal server error.", "request_id": getattr(request, "request_id", None)}, status=500
    )


class HealthView(APIView):
    """Open (no credentials) so load balancers and Docker can probe it; never writes."""

    authentication_classes = []
    permission_classes = []

    @extend_schema(
        tags=["operations"],
        summary="Health: database and embedder",
        operation_id="healthz",
        responses={
            200: OpenApiResponse(HealthSerializer, description="The database answers."),
            503: OpenApiResponse(HealthSerializer, description="The database does not answer in time."),
        },
    )
    def get(self, request):
        health = health_check()
        code = status.HTTP_200_OK if health.database == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
        body = {"status": health.status, "database": health.database, "embedder": health.embedder}
        return Response(HealthSerializer(body).data, status=code, headers={"Cache-Control": "no-store"})
