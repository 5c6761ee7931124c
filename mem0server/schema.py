"""The OpenAPI schema documents every error an operation can answer, in one place.

Views declare their success bodies (and the errors only they raise, through `errors(...)`); the
`AutoSchema` below adds the errors that follow from how an operation is built: credentials → 401, a
permission beyond "authenticated" → 403, a path id → 404, a JSON body → 413 and 415, a rate limit → 429
with Retry-After; and on every operation 400, 406 (an Accept header without JSON) and 503 (the database is
away). So the schema stays honest as views change, and clients (and the schema fuzzer) see every status
the server really answers.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from apikeys.permissions import IsAuthenticated
from mem0server.serializers import KnownFieldsOnly, ObjectField

ERROR_CODES = [
    "provider_auth_failed",
    "provider_rate_limited",
    "provider_timeout",
    "provider_unavailable",
    "provider_bad_request",
    "datastore_unavailable",
    "datastore_timeout",
]


class ErrorSerializer(serializers.Serializer):
    """Every 4xx and 5xx body: DRF's `{"detail": ...}`, plus what some errors add."""

    detail = serializers.CharField(help_text="What went wrong, as a sentence.")
    errors = ObjectField(required=False, help_text="400 for invalid input: the messages by field name.")
    code = serializers.ChoiceField(
        choices=ERROR_CODES, required=False, help_text="502, 503 and 504: which outside service failed, and how."
    )
    request_id = serializers.CharField(required=False, help_text="502, 503 and 504: the X-Request-ID, for the logs.")


DESCRIPTIONS = {
    400: "Invalid input: `detail` says what is wrong, `errors` names the fields.",
    401: "Missing, unknown or expired credentials (or, for /auth, a wrong password or refresh token).",
    403: "The credentials are valid but may not do this.",
    404: "No such item (or another account's), or no endpoint at this path.",
    406: "The Accept header does not allow JSON, the only type this API answers in.",
    409: "The request clashes with what is stored.",
    413: "The request body is larger than MAX_REQUEST_BYTES.",
    415: "The request body is not JSON: send Content-Type: application/json.",
    429: "Too many attempts from this address: wait for Retry-After seconds.",
    502: "The LLM or embedding provider failed; `code` says how.",
    503: "The database is unavailable, or did not finish within DB_STATEMENT_TIMEOUT_MS; try again shortly.",
    504: "The LLM or embedding provider did not answer in time.",
}

RESPONSE_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "description": "The accepted schemes: Bearer and the X-API-Key header.",
        }
    },
    429: {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 0},
            "description": "Seconds until the next attempt is allowed.",
        }
    },
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses a view raises itself, for `@extend_schema(responses={200: ..., **errors(409)})`."""
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code]) for code in codes}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._implied_errors(operation):
            # The view's own declaration wins (e.g. /healthz's 503 with a health body).
            responses.setdefault(str(code), self._get_response_for_code(errors(code)[code], str(code)))
        for code, headers in RESPONSE_HEADERS.items():
            if str(code) in responses:  # implied or declared by the view (login's 401)
                responses[str(code)].setdefault("headers", {}).update(headers)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        instance = force_instance(serializer)
        if direction == "request" and isinstance(instance, KnownFieldsOnly) and not instance.sent_along:
            schema["additionalProperties"] = False  # any other field is a 400 naming it
        return schema

    def _implied_errors(self, operation: dict) -> list[int]:
        has_body = "requestBody" in operation
        parameters = operation.get("parameters", [])
        # Every operation: 400 (if for nothing else, a query string of over DATA_UPLOAD_MAX_NUMBER_FIELDS
        # parameters, which DRF reads while negotiating), 406 and 503.
        implied = [400, 406, 503]
        if operation.get("security"):
            implied.append(401)
        if any(type(permission) is not IsAuthenticated for permission in self.view.get_permissions()):
            implied.append(403)
        if any(parameter["in"] == "path" for parameter in parameters):
            implied.append(404)
        if has_body:
            implied += [413, 415]
        if self.view.throttle_classes:
            implied.append(429)
        return implied
