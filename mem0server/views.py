"""JSON answers for errors raised outside DRF views (unknown paths, crashes), and the health endpoint."""

import hmac

from django.conf import settings
from django.core.exceptions import DisallowedHost, TooManyFieldsSent
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware import csrf as csrf_checks
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import csrf
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import (
    CHALLENGE,
    APIKeyAuthentication,
    AuthDisabledAuthentication,
    BearerAuthentication,
)
from dashboard.access import form_page
from mem0server.health import health_check
from mem0server.metrics import metrics_text
from mem0server.serializers import HealthSerializer


def bad_request(request, exception=None):
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return JsonResponse({"detail": f"Too many query parameters: at most {limit}."}, status=400)
    if isinstance(exception, DisallowedHost):
        # Served on another address than localhost (HOST=0.0.0.0, a proxy) without naming it: say which setting.
        return JsonResponse(
            {
                "detail": "Bad request: this server does not answer to the host this request names; add it to "
                "ALLOWED_HOSTS."
            },
            status=400,
        )
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception=None):
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


def not_found(request, exception=None):
    if request.path.startswith("/dashboard/"):
        return render(request, "dashboard/not_found.html", _sent_for_nothing(request, exception), status=404)
    return JsonResponse({"detail": f"No endpoint at {request.path}; see /docs for the API."}, status=404)


def _sent_for_nothing(request, exception) -> dict:
    """A dashboard form sent for something not there (deleted in another tab, or another account's): what its view
    said ("No such webhook."), and the way back to the page the form was on. The page said only "There is nothing
    here, or it is not yours to see", as for an address typed by hand."""
    if request.method != "POST":
        return {}
    said = str(exception) if type(exception) is Http404 else ""  # not a Resolver404's (an address with no view)
    return {"sent": True, "said": said, "back": form_page(request)}


def csrf_failure(request, reason=""):
    """A dashboard form Django's CSRF check refused: a page saying why and what to do (Django's own page says only
    "CSRF verification failed. Request aborted."); the Django admin's keep Django's page."""
    if not request.path.startswith("/dashboard/"):
        return csrf.csrf_failure(request, reason)
    if reason == csrf_checks.REASON_NO_CSRF_COOKIE:
        cause = "cookie"
    elif reason.startswith(("Origin checking failed", "Referer checking failed")):
        cause = "origin"
    else:  # the token does not match the cookie: a page opened before the last login (which changes the cookie)
        cause = "stale"
    # Back to the page the form was on when the browser said (same host only), else the address it was sent to.
    referer = request.META.get("HTTP_REFERER", "")
    same_host = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    back = referer if referer and same_host else request.get_full_path()
    origin = request.META.get("HTTP_ORIGIN") or referer
    context = {"cause": cause, "origin": origin, "back": back}
    return render(request, "dashboard/csrf_failure.html", context, status=403)


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


def _metrics_caller_is_admin(request) -> bool | None:
    """True for METRICS_TOKEN or admin credentials, False for other valid credentials, None for none or bad ones."""
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    if getattr(request, "user", None) is not None and request.user.is_authenticated:  # a dashboard session
        return request.user.is_admin
    drf_request = Request(request)
    for authenticator in (AuthDisabledAuthentication(), APIKeyAuthentication(), BearerAuthentication()):
        try:
            found = authenticator.authenticate(drf_request)
        except AuthenticationFailed:
            return None
        if found is not None:
            return bool(getattr(found[0], "is_admin", False))
    return None


@require_GET
def metrics(request):
    """GET /metrics: the Prometheus text format, for the admin or a scraper holding METRICS_TOKEN."""
    allowed = _metrics_caller_is_admin(request)
    if not allowed:
        detail = "GET /metrics needs admin credentials or `Authorization: Bearer <METRICS_TOKEN>`."
        response = JsonResponse({"detail": detail}, status=401 if allowed is None else 403)
        if allowed is None:
            response["WWW-Authenticate"] = CHALLENGE
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
