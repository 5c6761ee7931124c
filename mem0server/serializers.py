"""Serializer pieces shared by every app: stricter than DRF's defaults, because wrong types are a 400."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.serializers import as_serializer_error

from mem0server.text import unstorable_json


# A request serializer whose instances copy its declared fields shallowly, not deeply. (A comment, not a
# docstring: drf-spectacular would describe every request body that inherits it with the text.)
#
# DRF deep-copies every declared field for each serializer instance (Field.__deepcopy__ runs the field's
# __init__ again on copies of its arguments): about 0.1-0.2 ms of a search's 12 fields, on every request. A
# shallow copy gives each instance field objects of its own all the same (bind() sets its attributes on the
# copy); what the copies share (validators, error messages, choices) is built in __init__ and only read
# afterwards. A field that holds fields (a ListField's child, a nested serializer) binds them to itself, so
# those are still copied deeply.
class RequestSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


def _holds_fields(field: serializers.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text."""

    default_error_messages = {"not_a_string": "Must be a string, not {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string", kind=type(data).__name__)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (not "yes", 1 …), for switches that start work or send data: one switched on by accident
    would."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    """A JSON object (not a list, string or number)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        # Refused here, with the field named, rather than failing in the database (or as a 500 in a filter).
        if problem := unstorable_json(value):
            raise serializers.ValidationError(f"Must not contain {problem}.")
        return value


def unknown_params_refuse(data, allowed, *, takes: str, what: str = "query parameter") -> None:
    """A 400 naming every key of `data` (query parameters or body) that is not in `allowed`. For destructive
    routes: a parameter they would ignore (`?filters=...` on a delete) must not widen what they delete.
    `takes` ends the message, saying what the route does take. A query parameter given more than once is refused
    too: only its last value was read, so user_id=alice&user_id=* deleted every user's memories."""
    unknown = sorted(set(data or ()) - set(allowed))
    if unknown:
        raise serializers.ValidationError(
            f"Unknown {what}(s): {', '.join(name[:64] for name in unknown[:20])}. {takes}"
        )
    counts = {name: len(data.getlist(name)) for name in data} if hasattr(data, "getlist") else {}
    if repeated := sorted((name, count) for name, count in counts.items() if count > 1):
        raise serializers.ValidationError(
            {name[:64]: f"Given {count} times; give it once." for name, count in repeated[:20]}
        )


# null for an optional field that takes no null is that field left out: Mem0's server declares each optional field
# Optional[...] = None, so clients generated from its OpenAPI, or writing None as null, send null for what they
# leave out (MCP tools take models' nulls the same way). A field that takes null keeps it (expiration_date: null
# clears one), and a required field stays required. (A comment, not a docstring, as for RequestSerializer.)
class NullIsAbsent(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not hasattr(data, "getlist"):  # a JSON body, not query parameters
            fields = self.fields
            data = {
                name: value
                for name, value in data.items()
                if value is not None or name not in fields or fields[name].required or fields[name].allow_null
            }
        return super().to_internal_value(data)


class NullIsAbsentSchema(OpenApiSerializerExtension):
    """Their request bodies' optional fields are documented as taking null (query parameters carry no null)."""

    target_class = NullIsAbsent
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request" and getattr(self.target, "what", "field") == "field":  # a body, not parameters
            required = set(schema.get("required", ()))
            for name, field in list(schema.get("properties", {}).items()):
                if name not in required and not field.get("readOnly"):
                    field = schema["properties"][name] = {"allOf": [field]} if "$ref" in field else field
                    field["nullable"] = True
        return schema


# A 400 naming each body field or query parameter the serializer does not declare (and a query parameter given
# twice), instead of ignoring it: a misspelt scope (?user=alice) listed every memory, a misspelt metadata was stored
# as no metadata. `route` names the route in the message, `what` what its inputs are, `sent_along` the names that
# clients send beside the fields and that are ignored, `takes` (when set) ends the message instead of the route's
# field list. (A comment, not a docstring, as for RequestSerializer.)
class KnownFieldsOnly(NullIsAbsent):
    route = ""
    what = "field"
    sent_along: tuple[str, ...] = ()
    takes = ""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            try:
                unknown_params_refuse(
                    data,
                    [*self.fields, *self.sent_along],
                    what=self.what,
                    takes=self.takes or f"{self.route} takes {', '.join(self.fields)}.",
                )
            except serializers.ValidationError as exc:
                raise serializers.ValidationError(as_serializer_error(exc)) from None
        return super().to_internal_value(data)


def validated(serializer_class: type[serializers.Serializer], data) -> dict:
    """The validated data, or a ValidationError that the exception handler turns into a 400."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "degraded"], help_text="ok: the database answers and the embedder is not broken."
    )
    database = serializers.ChoiceField(choices=["ok", "unavailable"])
    embedder = serializers.ChoiceField(
        choices=["ok", "loading", "unavailable"], help_text="loading: the model is still being read after start."
    )
