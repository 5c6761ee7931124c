"""Webhook routes as the official SDKs call them: parse, call one service, answer in the SDKs' shapes."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from mem0server.exceptions import NotFound
from mem0server.schema import errors
from mem0server.serializers import validated
from platform_api.services import project_check, project_ids
from webhooks import selectors, services
from webhooks.models import Webhook
from webhooks.serializers import (
    WebhookChangeSerializer,
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookMessageSerializer,
    WebhookSerializer,
)

TAGS = ["webhooks"]
MAX_ID = 2**63 - 1
PROJECT_PATH = [OpenApiParameter("project_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Yours, or 404.")]
WEBHOOK_PATH = [OpenApiParameter("webhook_id", OpenApiTypes.INT, OpenApiParameter.PATH)]


def _webhook_data(request, webhook: Webhook, *, secret: str | None = None) -> dict:
    account = request.user.account
    return {
        "id": webhook.id,
        "name": webhook.name,
        "url": webhook.url,
        "event_types": webhook.event_types,
        "owner": account.email if account is not None else "admin",
        "project": project_ids(principal=request.user)[1],
        "is_active": webhook.is_active,
        "secret": secret if secret is not None else services.secret_mask(webhook.secret),
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
    }


def _webhook_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_ID:
        raise NotFound(f"Webhook {raw[:64]!r} not found.")
    return int(raw)


class ProjectWebhooksView(APIView):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        project_check(principal=request.user, project_id=kwargs["project_id"])

    @extend_schema(
        tags=TAGS,
        summary="The project's webhooks (secrets masked)",
        operation_id="webhooks_list",
        parameters=PROJECT_PATH,
        responses={200: WebhookSerializer(many=True), **errors(404)},
    )
    def get(self, request, project_id: str):
        webhooks = selectors.webhooks_of(principal=request.user)
        return Response(WebhookSerializer([_webhook_data(request, w) for w in webhooks], many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Create a webhook; the answer holds its signing secret, shown this once",
        operation_id="webhooks_create",
        parameters=PROJECT_PATH,
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **errors(404)},
    )
    def post(self, request, project_id: str):
        data = validated(WebhookCreateSerializer, request.data)
        project_check(principal=request.user, project_id=data.pop("project_id", None))
        webhook, secret = services.webhook_create(principal=request.user, **data)
        return Response(
            WebhookCreatedSerializer(_webhook_data(request, webhook, secret=secret)).data,
            status=status.HTTP_201_CREATED,
        )


class WebhookView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Change a webhook's name, url, event types or is_active (the secret stays)",
        operation_id="webhooks_update",
        parameters=WEBHOOK_PATH,
        request=WebhookChangeSerializer,
        responses={200: WebhookMessageSerializer, **errors(404)},
    )
    def put(self, request, webhook_id: str):
        webhook_id = _webhook_id(webhook_id)
        changes = validated(WebhookChangeSerializer, request.data)
        services.webhook_update(principal=request.user, webhook_id=webhook_id, **changes)
        return Response(WebhookMessageSerializer({"message": "Webhook updated successfully"}).data)

    @extend_schema(
        tags=TAGS,
        summary="Delete a webhook and its delivery log",
        operation_id="webhooks_delete",
        parameters=WEBHOOK_PATH,
        responses={200: WebhookMessageSerializer, **errors(404)},
    )
    def delete(self, request, webhook_id: str):
        services.webhook_delete(principal=request.user, webhook_id=_webhook_id(webhook_id))
        return Response(WebhookMessageSerializer({"message": "Webhook deleted successfully"}).data)
