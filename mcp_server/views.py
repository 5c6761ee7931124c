"""POST /mcp: the Streamable HTTP transport of the Model Context Protocol, stateless, answering application/json.

The specification lets a server answer each POSTed request with one JSON body instead of an SSE stream, and
answer GET (the server-to-client stream) with 405: we send no server-initiated messages, so both apply. There
are no sessions (no Mcp-Session-Id): every POST carries its credentials and stands alone, which is what lets any
gunicorn worker answer it. Authentication is the REST API's (API key in X-API-Key, `Authorization: Token` or
`Authorization: Bearer m0sk_…`, or a login token) or an OAuth access token (oauth/), so a missing key is DRF's 401
with a WWW-Authenticate naming the OAuth metadata. DNS
rebinding, which the spec asks servers to guard against, is stopped by Django's ALLOWED_HOSTS check and by the
credentials a rebound page cannot know.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS, InboundLadderRejection, classify_inbound_request
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    UnsupportedProtocolVersionErrorData,
    jsonrpc_message_adapter,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apikeys.authentication import APIKeyAuthentication, AuthDisabledAuthentication, BearerAuthentication
from mcp_server import over_limit, sse
from mcp_server.handlers import ToolContext
from mcp_server.protocol import handle_modern_request, handle_request
from mcp_server.request_log import record_call
from mcp_server.streams import STREAM_MARK, STREAM_SESSION
from mem0server.exceptions import InvalidInput, exception_handler
from mem0server.headers import header_text
from memories.models import SCOPE_FIELDS
from memories.serializers import ScopeMixin
from oauth.authentication import OAuthAccessTokenAuthentication
from oauth.discovery import mcp_challenge

SUPPORTED_VERSIONS = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)
# A client config pins a default scope with the query (`/mcp?user_id=alice`) or these headers.
MAX_CLIENT_NAME = 100  # mcp_server.models.SseSession.client_name
SCOPE_HEADERS = {field: "X-Mem0-" + field.replace("_id", "").capitalize() + "-ID" for field in SCOPE_FIELDS}


class TransportError(Exception):
    """A message refused before it reaches the protocol: an HTTP status and a JSON-RPC error without an id."""

    def __init__(self, status: int, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.status = status
        # `data` left unset when there is none, so the wire error has no "data": null.
        self.error = ErrorData(code=code, message=message, **({"data": data} if data is not None else {}))


def _jsonrpc(envelope: JSONRPCResponse | JSONRPCError, status: int = 200) -> JsonResponse:
    body = envelope.model_dump(by_alias=True, mode="json", exclude_unset=True)
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _transport_error(exc: TransportError) -> JsonResponse:
    return _jsonrpc(JSONRPCError(jsonrpc="2.0", id=None, error=exc.error), exc.status)


def _media_types(header: str) -> set[str]:
    return {part.split(";")[0].strip().lower() for part in header.split(",") if part.strip()}


def _check_headers(request) -> str | None:
    """Refuses what the transport cannot take; the 2026-07-28 era version the request names, or None (handshake)."""
    accept = request.META.get("HTTP_ACCEPT")
    # No Accept header means anything goes (RFC 9110); a list without JSON cannot read our answers.
    if accept is not None and not _media_types(accept) & {"application/json", "application/*", "*/*"}:
        raise TransportError(
            406,
            INVALID_REQUEST,
            "Not Acceptable: this server answers with application/json (it does not stream SSE); "
            "send Accept: application/json, text/event-stream.",
        )
    if "application/json" not in _media_types(request.META.get("CONTENT_TYPE", "")):
        raise TransportError(
            415, INVALID_REQUEST, "Unsupported Media Type: POST a JSON-RPC message with Content-Type: application/json."
        )
    version = request.META.get("HTTP_MCP_PROTOCOL_VERSION")
    if version is not None and version not in SUPPORTED_VERSIONS:
        data = UnsupportedProtocolVersionErrorData(supported=list(SUPPORTED_VERSIONS), requested=version)
        raise TransportError(
            400,
            UNSUPPORTED_PROTOCOL_VERSION,
            f"Unsupported MCP-Protocol-Version {version[:64]!r}; this server speaks "
            f"{', '.join(HANDSHAKE_PROTOCOL_VERSIONS)} (negotiated with initialize) and "
            f"{', '.join(MODERN_PROTOCOL_VERSIONS)} (each request with its envelope).",
            data=data.model_dump(mode="json", exclude_none=True),
        )
    return version if version in MODERN_PROTOCOL_VERSIONS else None


def _check_envelope(request) -> None:
    """A 2026-07-28 request's `params._meta` envelope (protocol version, client capabilities) and the headers that
    mirror it (MCP-Protocol-Version, Mcp-Method, Mcp-Name), checked by the SDK's own ladder; MCPError saying what
    is missing or differs."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    verdict = classify_inbound_request(
        request.data, headers=headers, supported_modern_versions=MODERN_PROTOCOL_VERSIONS
    )
    if isinstance(verdict, InboundLadderRejection):
        raise MCPError(verdict.code, verdict.message, verdict.data)


def default_scope(request) -> dict[str, str]:
    """The scope ids pinned by the client config: query parameters or X-Mem0-*-ID headers (they must agree)."""
    data = {}
    for field, header in SCOPE_HEADERS.items():
        from_query = request.query_params.get(field)
        try:
            from_header = header_text(request, header)
        except InvalidInput as exc:
            raise TransportError(400, INVALID_REQUEST, f"Invalid default scope in the headers. {exc.detail}") from None
        if from_query is not None and from_header is not None and from_query != from_header:
            raise TransportError(
                400, INVALID_REQUEST, f"The {field} query parameter and the {header} header differ; give one."
            )
        value = from_query if from_query is not None else from_header
        if value is not None:
            data[field] = value
    serializer = ScopeMixin(data=data)
    if not serializer.is_valid():
        detail = exception_handler(exceptions.ValidationError(serializer.errors), {}).data["detail"]
        raise TransportError(400, INVALID_REQUEST, f"Invalid default scope in the URL or headers. {detail}")
    return serializer.scope()


def _read_message(request) -> JSONRPCRequest | JSONRPCNotification | None:
    """The POSTed message; None for a notification or a response, which only get 202."""
    try:
        raw = request.data  # the REST API's parser: its size and nesting limits hold here too
    except exceptions.APIException as exc:
        status = exc.status_code
        raise TransportError(status, PARSE_ERROR if status == 400 else INVALID_REQUEST, str(exc.detail)) from None
    if isinstance(raw, list):
        raise TransportError(400, INVALID_REQUEST, "JSON-RPC batches are not supported: POST one message at a time.")
    try:
        message = jsonrpc_message_adapter.validate_python(raw, by_name=False)
    except ValidationError:
        message = None
    if isinstance(raw, dict) and isinstance(message, JSONRPCNotification) and "id" in raw:
        raise TransportError(400, INVALID_REQUEST, "Invalid JSON-RPC request: id must be a string or an integer.")
    if message is None:
        raise TransportError(
            400,
            INVALID_REQUEST,
            'Invalid JSON-RPC message: expected an object like {"jsonrpc": "2.0", "id": 1, "method": "tools/list"} '
            "(a request) or one without id (a notification).",
        )
    return message if isinstance(message, JSONRPCRequest | JSONRPCNotification) else None


def openmemory_context(
    request, client_name: str, user_id: str, read_only: bool, answer_max_bytes: int | None = None
) -> ToolContext:
    """The context of an OpenMemory URL (/mcp/<client>/sse|http/<user_id>): its tools, in the scope of its user."""
    if len(client_name) > MAX_CLIENT_NAME or not client_name.isprintable():
        raise TransportError(
            400,
            INVALID_REQUEST,
            f"Invalid client name in the URL: at most {MAX_CLIENT_NAME} printable characters (like cursor or "
            "claude), as in /mcp/<client>/sse/<user_id>.",
        )
    serializer = ScopeMixin(data={"user_id": user_id})
    if not serializer.is_valid():
        detail = exception_handler(exceptions.ValidationError(serializer.errors), {}).data["detail"]
        raise TransportError(400, INVALID_REQUEST, f"Invalid user id in the URL. {detail}")
    return ToolContext(
        principal=request.user,
        default_scope=serializer.scope(),
        read_only=read_only,
        toolset="openmemory",
        client_name=client_name,
        answer_max_bytes=answer_max_bytes,
    )


def _read_only(request) -> bool:
    # An OAuth grant says whether it may only read (oauth.models.OAuthGrant.read_only); keys may do all.
    return getattr(request.auth, "read_only", False) is True


class McpAuthenticated(APIView):
    """Authenticated like every REST route, or by an OAuth access token (before the JWT class, which would refuse
    one as a malformed JWT); a missing credential is a 401 naming where an OAuth client logs in."""

    authentication_classes = [
        AuthDisabledAuthentication,
        OAuthAccessTokenAuthentication,
        APIKeyAuthentication,
        BearerAuthentication,
    ]

    def get_authenticate_header(self, request):
        # Where an OAuth client finds how to log in (MCP's authorization spec; RFC 9728 §5.1).
        return mcp_challenge(request)

    def perform_content_negotiation(self, request, force=False):
        # Accept is judged by the transport rules in _check_headers, which answer JSON-RPC errors, not DRF's 406.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def handle_exception(self, exc):
        # DRF's refusals (a missing, revoked or wrong credential, the database away) as a JSON-RPC error without an
        # id, its headers kept: the mcp SDK shows such an error's message, and any other body at a 4xx or 5xx only as
        # "Server returned an error response".
        response = super().handle_exception(exc)
        if isinstance(response.data, dict) and "detail" in response.data:
            code = INTERNAL_ERROR if response.status_code >= 500 else INVALID_REQUEST
            error = ErrorData(code=code, message=str(response.data["detail"]))
            envelope = JSONRPCError(jsonrpc="2.0", id=None, error=error)
            response.data = envelope.model_dump(by_alias=True, mode="json", exclude_unset=True)
        return response


@extend_schema(exclude=True)  # JSON-RPC, not REST: described in the README, not in /openapi.json
class McpView(McpAuthenticated):
    """POST: one JSON-RPC message; anything else is 405."""

    def tool_context(self, request) -> ToolContext:
        return ToolContext(principal=request.user, default_scope=default_scope(request), read_only=_read_only(request))

    def http_method_not_allowed(self, request, *args, **kwargs):
        # GET (the server-to-client SSE stream) and DELETE (ending a session) included: the spec's 405.
        error = ErrorData(
            code=INVALID_REQUEST,
            message="Method Not Allowed: this MCP server is stateless and opens no SSE stream or session; "
            "POST JSON-RPC messages to this URL.",
        )
        return _jsonrpc(JSONRPCError(jsonrpc="2.0", id=None, error=error), status=405)

    def post(self, request, **kwargs):
        try:
            modern_version = _check_headers(request)
            ctx = self.tool_context(request)
            message = _read_message(request)
        except TransportError as exc:
            return _transport_error(exc)
        if not isinstance(message, JSONRPCRequest):
            return HttpResponse(status=202)  # notifications/initialized and the like: nothing to answer
        try:
            if modern_version is None:
                outcome = handle_request(message.method, message.params, ctx)
            else:
                _check_envelope(request)
                outcome = handle_modern_request(message.method, message.params, ctx, modern_version)
        except MCPError as exc:
            # At 2026-07-28 the HTTP status says what kind of error it is (404 for an unknown method, 400 for
            # bad params or headers); the handshake era answers every JSON-RPC error with 200.
            status = 200 if modern_version is None else ERROR_CODE_HTTP_STATUS.get(exc.error.code, 200)
            response = _jsonrpc(JSONRPCError(jsonrpc="2.0", id=message.id, error=exc.error), status)
            record_call(response, message, ctx, refused=exc)
            return response
        response = _jsonrpc(JSONRPCResponse(jsonrpc="2.0", id=message.id, result=outcome.result))
        record_call(response, message, ctx, outcome=outcome)
        return response


@extend_schema(exclude=True)
class OpenMemoryHttpView(McpView):
    """OpenMemory's Streamable HTTP URL, /mcp/<client>/http/<user_id>: POST as /mcp, with OpenMemory's tools."""

    def tool_context(self, request) -> ToolContext:
        kwargs = self.kwargs
        return openmemory_context(request, kwargs["client_name"], kwargs["user_id"], _read_only(request))


@extend_schema(exclude=True)
class SseOpenView(McpAuthenticated):
    """GET /mcp/<client>/sse/<user_id>: OpenMemory's SSE stream. Here the caller is authenticated and a session
    opened; mcp_server/streams.py, in front, turns this answer into the stream."""

    http_method_names = ["get", "options"]  # not HEAD: it would open a session no stream follows

    def get(self, request, client_name: str, user_id: str):
        try:
            accept = request.META.get("HTTP_ACCEPT")
            if accept is not None and not _media_types(accept) & {"text/event-stream", "text/*", "*/*"}:
                raise TransportError(406, INVALID_REQUEST, "Not Acceptable: this URL streams text/event-stream.")
            ctx = openmemory_context(request, client_name, user_id, _read_only(request))
        except TransportError as exc:
            return _transport_error(exc)
        if request.headers.get(STREAM_MARK.decode()) != "1":
            # Served by Django alone (manage.py runserver), with nothing in front to hold a stream.
            message = (
                "This server process cannot hold SSE streams: they are served by gunicorn (make serve). Here, "
                f"connect to the Streamable HTTP URL /mcp/{client_name}/http/{user_id} instead."
            )
            return _transport_error(TransportError(501, INVALID_REQUEST, message))
        try:
            session_id = sse.session_open(
                principal=ctx.principal,
                credential=request.auth,
                client_name=ctx.client_name,
                user_id=ctx.default_scope["user_id"],
            )
        except sse.TooManySessions:
            message = (
                f"Your account holds {sse.STREAMS_PER_ACCOUNT} SSE streams open already, the most it may: close one "
                "of its clients, or connect to the Streamable HTTP URL (/mcp/<client>/http/<user_id>) instead."
            )
            return _transport_error(TransportError(429, INVALID_REQUEST, message))
        return HttpResponse(status=200, headers={STREAM_SESSION.decode(): str(session_id)})


@extend_schema(exclude=True)
class SseMessageView(McpAuthenticated):
    """POST /mcp/messages/?session_id=… (also under /mcp/<client>/sse/<user_id>/messages/): one JSON-RPC message for
    an open SSE session of the caller's; 202, its answer sent on the session's stream."""

    def post(self, request, **kwargs):
        try:
            session = self._session(request)
            if "application/json" not in _media_types(request.META.get("CONTENT_TYPE", "")):
                raise TransportError(
                    415, INVALID_REQUEST, "Unsupported Media Type: POST a JSON-RPC message as application/json."
                )
            ctx = openmemory_context(
                request, session.client_name, session.user_id, _read_only(request), sse.EVENT_MAX_BYTES
            )
            message = _read_message(request)
        except TransportError as exc:
            return _transport_error(exc)
        accepted = HttpResponse("Accepted", status=202, content_type="text/plain")
        if not isinstance(message, JSONRPCRequest):
            return accepted  # notifications/initialized and the like: nothing to answer
        outcome, refused = None, None
        try:
            size = request.headers.get(over_limit.SIZE_HEADER.decode())
            if size is not None:  # a stand-in for a body over MAX_REQUEST_BYTES (mcp_server/over_limit.py)
                refused = "too_large"
                raise over_limit.stand_in_refusal(message.method, message.params, int(size))
            outcome = handle_request(message.method, message.params, ctx)
        except MCPError as exc:
            envelope = JSONRPCError(jsonrpc="2.0", id=message.id, error=exc.error)
            refused = refused or exc
        else:
            envelope = JSONRPCResponse(jsonrpc="2.0", id=message.id, result=outcome.result)
        too_large = (
            f"The Streamable HTTP URL, /mcp/{session.client_name}/http/{session.user_id}, has no such limit: "
            "connect there for answers this long."
        )
        body = sse.answer_text(envelope.model_dump(by_alias=True, mode="json", exclude_unset=True), too_large=too_large)
        try:
            sse.answer_queue(session=session, body=body)
        except sse.UnknownSession:  # the stream closed while the request ran: no one to send the answer to
            response = _transport_error(_session_closed())
        else:
            response = accepted
        # The answer is 202 whatever it says (it goes on the stream): the log says what the client met.
        record_call(response, message, ctx, outcome=outcome, refused=refused)
        return response

    def _session(self, request):
        raw = request.query_params.get("session_id")
        if not raw:
            raise TransportError(
                400, INVALID_REQUEST, "session_id is required: POST to the URL the stream's endpoint event named."
            )
        try:
            return sse.session_get(principal=request.user, session_id=uuid.UUID(raw))
        except (ValueError, sse.UnknownSession):
            raise _session_closed() from None


def _session_closed() -> TransportError:
    return TransportError(
        404,
        INVALID_REQUEST,
        "No open SSE session of yours has this session_id: its stream has closed. Connect again to "
        "/mcp/<client>/sse/<user_id>.",
    )
