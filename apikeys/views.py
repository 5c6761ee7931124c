"""/api-keys: an account manages its own keys, with a JWT (a key cannot mint or revoke keys)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys import services
from apikeys.permissions import HasLoginToken, IsAuthenticated
from apikeys.serializers import APIKeyCreatedSerializer, APIKeyCreateRequestSerializer, APIKeySerializer
from mem0server.serializers import validated
from memories.serializers import MessageResponseSerializer

TAGS = ["api keys"]


class KeyManagementView(APIView):
    permission_classes = [IsAuthenticated, HasLoginToken]


class APIKeysView(KeyManagementView):
    @extend_schema(tags=TAGS, summary="The caller's live API keys", responses=APIKeySerializer(many=True))
    def get(self, request):
        return Response(APIKeySerializer(services.apikeys_list(user=request.user), many=True).data)

    @extend_schema(
        tags=TAGS,
        summary="Create an API key (the key is in this response only)",
        request=APIKeyCreateRequestSerializer,
        responses={201: APIKeyCreatedSerializer},
    )
    def post(self, request):
        data = validated(APIKeyCreateRequestSerializer, request.data)
        api_key, key = services.apikey_create(user=request.user, label=data["label"])
        api_key.key = key
        return Response(APIKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)


class APIKeyDetailView(KeyManagementView):
    # A bare serializer on DELETE would be documented as "204 no body"; the answer is a 200 with a message.
    @extend_schema(tags=TAGS, summary="Revoke an API key", responses={200: MessageResponseSerializer})
    def delete(self, request, key_id: int):
        services.apikey_revoke(user=request.user, key_id=key_id)
        return Response({"message": "API key revoked."})
