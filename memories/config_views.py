"""/configure: read and change the model configuration at runtime (stored, applied to every worker)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import IsAdmin
from mem0server.schema import errors
from mem0server.serializers import validated
from memories import configuration
from memories.config_serializers import (
    ConfigSerializer,
    GenerateInstructionsRequestSerializer,
    GenerateInstructionsResponseSerializer,
    ProvidersSerializer,
)
from memories.instructions import instructions_generate
from memories.serializers import MessageResponseSerializer

TAGS = ["configure"]


class ConfigureView(APIView):
    def get_permissions(self):
        if self.request.method in ("POST", "DELETE"):
            return [*super().get_permissions(), IsAdmin()]
        return super().get_permissions()

    @extend_schema(
        tags=TAGS,
        summary="Show the configuration (secrets redacted) and whether inference is on",
        operation_id="configure_get",
        responses=ConfigSerializer,
    )
    def get(self, request):
        return Response(ConfigSerializer(configuration.server_config_get()).data)

    @extend_schema(
        tags=TAGS,
        summary="Change the configuration (admin): deep-merged, checked whole, applied to every worker",
        operation_id="configure_set",
        request=ConfigSerializer,
        # 409: a new embedding size while memories are stored.
        responses={200: MessageResponseSerializer, **errors(409)},
    )
    def post(self, request):
        # A config posted back as GET shows it keeps a base URL whose credentials or query values are masked.
        data = configuration.config_unmasked(request.data) if isinstance(request.data, dict) else request.data
        serializer = ConfigSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        configuration.server_config_set(changes=serializer.validated_data)
        return Response({"message": "Configuration set successfully"})

    @extend_schema(
        tags=TAGS,
        summary="Forget what POST /configure stored (admin): the environment's settings apply again",
        operation_id="configure_clear",
        # 409: the environment's embedder has another embedding size while memories are stored.
        responses={200: MessageResponseSerializer, **errors(409)},
    )
    def delete(self, request):
        configuration.server_config_clear()
        return Response({"message": "Stored configuration cleared; the environment's settings apply."})


class ConfigureProvidersView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="List the bundled providers",
        operation_id="configure_providers",
        responses=ProvidersSerializer,
    )
    def get(self, request):
        return Response(ProvidersSerializer(configuration.providers_list()).data)


class GenerateInstructionsView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Draft fact-extraction instructions and a test message from a use case (Mem0's dashboard setup)",
        operation_id="generate_instructions",
        request=GenerateInstructionsRequestSerializer,
        responses={200: GenerateInstructionsResponseSerializer, **errors(502, 504)},
    )
    def post(self, request):
        data = validated(GenerateInstructionsRequestSerializer, request.data)
        drafted = instructions_generate(use_case=data["use_case"])
        return Response(GenerateInstructionsResponseSerializer(drafted).data)
