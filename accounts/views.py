"""/auth/*: thin views over accounts.services."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import services
from accounts.serializers import (
    ChangePasswordRequestSerializer,
    LoginRequestSerializer,
    MeSerializer,
    MeUpdateRequestSerializer,
    OnboardingCompleteRequestSerializer,
    RefreshRequestSerializer,
    RegisterRequestSerializer,
    SetupStatusSerializer,
    TokenPairSerializer,
)
from apikeys.permissions import AccountChangeNeedsLogin, HasAccount
from mem0server.schema import errors
from mem0server.serializers import validated
from memories.serializers import MessageResponseSerializer

TAGS = ["auth"]


class OpenView(APIView):
    """No credentials needed (and none looked at)."""

    authentication_classes: list = []
    permission_classes: list = []


class SetupStatusView(OpenView):
    @extend_schema(
        tags=TAGS,
        summary="Whether the first account still has to be registered",
        auth=[],
        responses=SetupStatusSerializer,
    )
    def get(self, request):
        return Response({"needsSetup": services.setup_needed()})


class RegisterView(OpenView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        tags=TAGS,
        summary="Register the first account (admin); refused once one exists",
        auth=[],
        request=RegisterRequestSerializer,
        responses={201: TokenPairSerializer, **errors(403)},  # 403: setup is complete
    )
    def post(self, request):
        tokens = services.user_register(**validated(RegisterRequestSerializer, request.data))
        return Response(asdict(tokens), status=status.HTTP_201_CREATED)


class LoginView(OpenView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        tags=TAGS,
        summary="Log in",
        auth=[],
        request=LoginRequestSerializer,
        responses={200: TokenPairSerializer, **errors(401)},
    )
    def post(self, request):
        data = validated(LoginRequestSerializer, request.data)
        tokens = services.user_login(request=request, email=data["email"], password=data["password"])
        return Response(asdict(tokens))


class RefreshView(OpenView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "refresh"

    @extend_schema(
        tags=TAGS,
        summary="Trade a refresh token (once) for a new pair",
        auth=[],
        request=RefreshRequestSerializer,
        responses={200: TokenPairSerializer, **errors(401)},
    )
    def post(self, request):
        data = validated(RefreshRequestSerializer, request.data)
        return Response(asdict(services.tokens_refresh(refresh_token=data["refresh_token"])))


class MeView(APIView):
    permission_classes = [*APIView.permission_classes, HasAccount]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [*super().get_permissions(), AccountChangeNeedsLogin()]
        return super().get_permissions()

    @extend_schema(tags=TAGS, summary="The caller's account", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        tags=TAGS,
        summary="Change name or email (needs a login token, not an API key)",
        request=MeUpdateRequestSerializer,
        responses={200: MeSerializer, **errors(409)},  # 409: the email is taken
    )
    def patch(self, request):
        data = validated(MeUpdateRequestSerializer, request.data)
        return Response(MeSerializer(services.user_update(user=request.user, **data)).data)


class ChangePasswordView(APIView):
    permission_classes = [*APIView.permission_classes, HasAccount, AccountChangeNeedsLogin]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "change_password"

    @extend_schema(
        tags=TAGS,
        summary="Change the password (needs a login token; earlier tokens stop working)",
        request=ChangePasswordRequestSerializer,
        responses=MessageResponseSerializer,
    )
    def post(self, request):
        services.user_change_password(user=request.user, **validated(ChangePasswordRequestSerializer, request.data))
        return Response({"message": "Password changed."})


class OnboardingCompleteView(APIView):
    """Mem0's dashboard calls this when its setup wizard succeeds. We keep no telemetry: checked and acknowledged."""

    permission_classes = [*APIView.permission_classes, HasAccount]

    @extend_schema(
        tags=TAGS,
        summary="Acknowledge the end of Mem0's dashboard setup flow (nothing is stored or sent)",
        request=OnboardingCompleteRequestSerializer,
        responses=MessageResponseSerializer,
    )
    def post(self, request):
        validated(OnboardingCompleteRequestSerializer, request.data)
        return Response({"message": "Onboarding completed."})
