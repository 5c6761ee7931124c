"""Request and response shapes of the memory endpoints; they are also the OpenAPI schema."""

from __future__ import annotations

import base64
from functools import cached_property

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from mem0server.paging import MAX_PAGE
from mem0server.parsers import LongNumber, NestedTooDeep, json_loads
from mem0server.serializers import (
    KnownFieldsOnly,
    ObjectField,
    RequestSerializer,
    StrictCharField,
    unknown_params_refuse,
)
from memories.documents import DOCUMENT_TYPES, FILE_TYPES, document_refusal, file_document
from memories.filters import (
    SEARCH_SCOPE_HELP,
    camel_case_named,
    scope_id_refusal,
    scope_part,
)
from memories.models import MAX_TEXT_CHARS, SCOPE_FIELDS, SCOPE_NAMES, Memory, MemoryHistory
from memories.timestamps import parse_timestamp
from memories.vision import image_url, vision_client

MAX_TOP_K = 1000
# Other APIs' names for a message's role: OpenAI's newer one for system, Gemini's for assistant, OpenAI's older one
# for a tool's result.
ROLE_ALIASES = {"developer": "system", "model": "assistant", "function": "tool"}
MAX_MESSAGE_LENGTH = MAX_TEXT_CHARS
METADATA_HELP = (
    "A JSON object kept with each memory of the add: at most METADATA_MAX_BYTES bytes as compact JSON (64 KiB unless "
    "set), else a 400."
)
MERGED_METADATA_HELP = (
    "Merged into the memory's metadata, which then holds at most METADATA_MAX_BYTES bytes as compact JSON (64 KiB "
    "unless set), else a 400."
)


class ScopeIdField(StrictCharField):
    """A user/agent/app/run id: trimmed, non-empty, no whitespace inside, not "*" (in filters: any value), not "."
    or ".." (a URL path cannot carry them)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if why := scope_id_refusal(self.field_name or "id", value):
            raise serializers.ValidationError(why)
        return value


class ScopeMixin(RequestSerializer):
    user_id = ScopeIdField()
    agent_id = ScopeIdField()
    app_id = ScopeIdField()
    run_id = ScopeIdField()

    def scope(self) -> dict[str, str]:
        return {field: self.validated_data[field] for field in SCOPE_FIELDS if self.validated_data.get(field)}


def merge_scope(attrs: dict, filters: dict | None) -> dict:
    """The filters with the top-level scope ids (taken out of `attrs`) added. The same id in both agrees when it
    names the same value, plainly or as {"eq": value}; any other condition on it there is a 400."""
    filters = dict(filters or {})
    for field in SCOPE_FIELDS:
        value = attrs.pop(field, None)
        if not value:
            continue
        given = filters.get(field, value)
        if isinstance(given, dict) and list(given) == ["eq"]:
            given = given["eq"]
        if given != value:
            raise serializers.ValidationError({field: f"Differs from filters.{field}; give it once."})
        filters[field] = value
    return filters


def javascript_bytes(value) -> bytes | None:
    """Bytes as JavaScript's JSON.stringify writes them: a Node Buffer as {"type": "Buffer", "data": [byte, …]}, a
    Uint8Array as {"0": byte, "1": byte, …}; None for anything else. Mem0's Vercel AI SDK provider sends an AI SDK
    file part's data as it is, and a file read into memory (fs.readFileSync, fetch's bytes) is one of those."""
    if not isinstance(value, dict):
        return None
    if value.keys() == {"type", "data"} and value["type"] == "Buffer":
        value = value["data"]
    else:  # a Uint8Array: its indexes in order, and nothing else
        value = [value.get(str(index)) for index in range(len(value))]
    try:
        return bytes(value) if all(isinstance(byte, int) for byte in value) else None
    except (TypeError, ValueError):  # not a list, or a number outside 0–255
        return None


class MessageContentField(serializers.Field):
    """A message's text, images and documents: a string, or OpenAI's content parts (`[{"type": "text", "text": …},
    {"type": "image_url", "image_url": {"url": …}}]`, or one part alone) whose text parts are joined with spaces, as
    Mem0 reads them; gives (text or None, image URLs, documents). No content (null or missing: an assistant message
    carrying only its tool calls, often "" instead) gives no text; other parts (audio) are left out. Frameworks send
    their LLM's context as it is. Images are read only with vision on (memories/vision.py); an image part without a
    URL (Mem0's Vercel AI SDK provider sends `image_url: {}` for the SDK's image parts) has nothing to describe and is
    left out. Documents (Mem0's txt_url, mdx_url and pdf_url parts, and the files of an LLM's context that are PDFs or
    text) are read (memories/documents.py); their content is checked here, so an add that could not be read is
    refused before it is queued."""

    default_error_messages = {
        "invalid": 'Must be a string, a list of content parts ({{"type": "text", "text": "…"}}), or null.',
        "part": 'Part {index} must be an object with a string "type"; a "text" part, a string "text".',
        "image": "Part {index}: an image's URL (image_url.url) must be an http(s) URL, a data:image/… URL, or a "
        "PNG, JPEG, GIF, WebP, HEIC or AVIF image's content in base64; the model's provider fetches or reads it.",
        "document": "Part {index}: a document ({where}) {refusal}",
    }

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, default=None, **kwargs)
        self.text = StrictCharField(max_length=MAX_MESSAGE_LENGTH)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = [data]
        images: list[str] = []
        documents: list[dict] = []
        if isinstance(data, list):
            vision = any(part.get("type") == "image_url" for part in data if isinstance(part, dict)) and vision_client()
            texts = []
            for index, part in enumerate(data):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    self.fail("part", index=index)
                if part["type"] == "text":
                    if not isinstance(part.get("text"), str):
                        self.fail("part", index=index)
                    texts.append(part["text"])
                elif part["type"] == "image_url" and vision:
                    images += self._url(part, index, "image")
                elif part["type"] in DOCUMENT_TYPES:
                    documents += [{"type": part["type"], "url": url} for url in self._url(part, index, "document")]
                elif part["type"] in FILE_TYPES and (document := file_document(part)):
                    documents.append(document)
            data = " ".join(texts)
        elif not isinstance(data, str):
            self.fail("invalid")
        return (self.text.run_validation(data) if data.strip() else None), images, documents

    def _url(self, part: dict, index: int, what: str) -> list[str]:
        """The part's URL (`{<type>: {"url": …}}` or `{<type>: …}`), none when it has none, or a 400 saying why it
        cannot be read."""
        kind = part["type"]
        url = part.get(kind)
        content = javascript_bytes(url)
        if isinstance(url, dict) and content is None:  # {"url": …}
            url = url.get("url")
            content = javascript_bytes(url)
        if content is not None:
            url = base64.b64encode(content).decode()
        if url is None or url == "":
            return []
        if what == "image":
            url = image_url(url) if isinstance(url, str) else None
            if url is None:
                self.fail("image", index=index)
        if what == "document":
            refusal = (
                document_refusal(kind, url)
                if isinstance(url, str)
                else "must be a string, or bytes as JavaScript writes a Buffer or Uint8Array."
            )
            if refusal:
                self.fail("document", index=index, where=f"{kind}.url", refusal=refusal)
        return [url]

    def to_representation(self, value):
        return value


class MessageContentFieldSchema(OpenApiSerializerFieldExtension):
    target_class = MessageContentField

    def map_serializer_field(self, auto_schema, direction):
        javascript_bytes = {
            "type": "object",
            "description": 'Its bytes as JavaScript writes a Node Buffer ({"type": "Buffer", "data": [37, 80, …]}) '
            'or a Uint8Array ({"0": 37, "1": 80, …}).',
        }
        url = {
            "oneOf": [
                {"type": "string", "description": "An http(s) URL, a data:image/… URL, or the image in base64."},
                javascript_bytes,
            ]
        }
        document = {
            "oneOf": [
                {
                    "type": "string",
                    "description": "The document's content in base64, a data: URL, or an http(s) URL on a host of "
                    "FETCH_HOSTS.",
                },
                javascript_bytes,
            ]
        }
        part = {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "text": {"type": "string"},
                "image_url": {
                    "oneOf": [{"type": "object", "properties": {"url": url}, "required": ["url"]}, url],
                    "description": "An image_url part's image: described by the LLM when enable_vision is on.",
                },
                **{
                    kind: {
                        "oneOf": [{"type": "object", "properties": {"url": document}, "required": ["url"]}, document],
                        "description": f"A {kind} part's document, whose text is stored in passages.",
                    }
                    for kind in DOCUMENT_TYPES
                },
                "file": {
                    "type": "object",
                    "description": "A file, file_base64 or file_url part's file (file_data: a data URL; or url), as "
                    "OpenAI's and Pipecat's contexts carry it: read when a PDF, an Office document or text, else left "
                    "out.",
                },
            },
            "required": ["type"],
            "additionalProperties": True,
        }
        text = {"type": "string", "maxLength": MAX_MESSAGE_LENGTH}  # blank: no text, not stored
        return {
            "oneOf": [text, {"type": "array", "items": part}, part],
            "nullable": True,
            "description": "Text, or content parts whose text parts are joined, whose images are described by the "
            "LLM (enable_vision) or left out, and whose documents (txt_url, mdx_url, pdf_url) are read; a message "
            "without text is not stored.",
        }


class MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=["user", "assistant", "system", "developer", "tool", "model", "function"],
        help_text="developer is taken as system (OpenAI's newer name), model as assistant (Gemini's), function as "
        "tool (OpenAI's older name).",
    )
    content = MessageContentField()
    name = StrictCharField(required=False, max_length=255, help_text="Stored as the memory's actor_id.")

    def validate_role(self, role: str) -> str:
        return ROLE_ALIASES.get(role, role)

    def validate(self, attrs):
        text, images, documents = attrs["content"] or (None, [], [])  # null or missing: no text
        attrs["content"] = text
        if (images or documents) and attrs["role"] != "system":  # a system message is not stored: nothing to read
            attrs["content"] = text or ""
            attrs.update({"images": images} if images else {})
            attrs.update({"documents": documents} if documents else {})
        return attrs


class MessagesField(serializers.Field):
    """A list of {role, content} messages, or a plain string meaning one user message."""

    default_error_messages = {
        "invalid": "Must be a string or a list of {{role, content}} messages.",
        "empty": "Must contain at least one message.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [{"role": "user", "content": data}]
        if not isinstance(data, list):
            self.fail("invalid")
        if not data:
            self.fail("empty")
        if len(data) > settings.MAX_MESSAGES_PER_ADD:
            raise serializers.ValidationError(
                f"Has {len(data)} messages; at most {settings.MAX_MESSAGES_PER_ADD} per request are allowed "
                "(MAX_MESSAGES_PER_ADD): send them in several requests."
            )
        serializer = MessageSerializer(data=data, many=True)
        serializer.is_valid(raise_exception=True)
        messages = [message for message in serializer.validated_data if message["content"] is not None]
        total = sum(len(message["content"]) for message in messages)
        if total > settings.MAX_ADD_CHARS:
            raise serializers.ValidationError(
                f"The messages hold {total} characters together; at most {settings.MAX_ADD_CHARS} per request are "
                "allowed (MAX_ADD_CHARS): send them in several requests."
            )
        documents = sum(len(message.get("documents", ())) for message in messages)
        if documents > settings.MAX_DOCUMENTS_PER_ADD:
            raise serializers.ValidationError(
                f"The messages hold {documents} documents; at most {settings.MAX_DOCUMENTS_PER_ADD} per request are "
                "read (MAX_DOCUMENTS_PER_ADD): send them in several requests."
            )
        return messages

    def to_representation(self, value):
        return value


class MessagesFieldSchema(OpenApiSerializerFieldExtension):
    """A string or a list of messages. Resolving the message serializer here registers its component, which a
    hand-written `$ref` would not: the schema then pointed at a component that did not exist."""

    target_class = MessagesField

    def map_serializer_field(self, auto_schema, direction):
        message = auto_schema.resolve_serializer(MessageSerializer, direction).ref
        text = {"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE_LENGTH, "description": "One user message."}
        messages = {"type": "array", "items": message, "minItems": 1, "maxItems": settings.MAX_MESSAGES_PER_ADD}
        return {
            "oneOf": [text, messages],
            "description": f"At most {settings.MAX_MESSAGES_PER_ADD} messages and {settings.MAX_ADD_CHARS} "
            "characters in all.",
        }


class TimestampField(serializers.Field):
    """When the conversation happened: unix seconds (number) or an ISO 8601 date-time (no zone: UTC)."""

    def to_internal_value(self, data):
        try:
            return parse_timestamp(data)
        except ValueError as error:
            raise serializers.ValidationError(f"{self.field_name} {error}") from None

    def to_representation(self, value):
        return value.isoformat()


class TimestampFieldSchema(OpenApiSerializerFieldExtension):
    target_class = TimestampField

    def map_serializer_field(self, auto_schema, direction):
        return {
            "oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
            "description": self.target.help_text
            or "When the conversation happened: unix seconds, or ISO 8601 (no zone: UTC).",
        }


REFERENCE_DATE_HELP = (
    "The time the query's own time words ('last week', 'yesterday', 'in March') are read from, instead of now: "
    "unix seconds, YYYY-MM-DD or an ISO 8601 date-time (no zone: UTC)."
)


class AddMemoryRequestSerializer(KnownFieldsOnly, ScopeMixin):
    route = "POST /memories"
    messages = MessagesField()
    metadata = ObjectField(required=False, allow_null=True, help_text=METADATA_HELP)
    infer = serializers.BooleanField(default=True)
    memory_type = serializers.ChoiceField(choices=["procedural_memory"], required=False, allow_null=True)
    prompt = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=20_000)
    expiration_date = serializers.DateField(required=False, allow_null=True, input_formats=["%Y-%m-%d"])
    timestamp = TimestampField(required=False, allow_null=True)

    def validate(self, attrs):
        if not any(attrs.get(field) for field in SCOPE_FIELDS):
            raise serializers.ValidationError(f"One of {SCOPE_NAMES} is required.")
        if attrs.get("memory_type") == "procedural_memory" and not attrs.get("agent_id"):
            raise serializers.ValidationError({"agent_id": "memory_type procedural_memory needs an agent_id."})
        return attrs


# What an add did to each memory (named AddResultEventEnum in the schema, for every serializer that answers it).
ADD_EVENTS = ["ADD", "UPDATE", "DELETE", "NONE"]


class AddResultSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    memory = serializers.CharField()
    event = serializers.ChoiceField(choices=ADD_EVENTS)
    previous_memory = serializers.CharField(required=False)
    actor_id = serializers.CharField(required=False, allow_null=True, help_text="infer=false items only.")
    role = serializers.CharField(required=False, allow_null=True, help_text="infer=false items only.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Inferred items have no single author: leave the keys out rather than answer null.
        for key in ("actor_id", "role", "previous_memory"):
            if key not in instance:
                data.pop(key, None)
        return data


class AddResponseSerializer(serializers.Serializer):
    results = AddResultSerializer(many=True)


class MemorySerializer(serializers.ModelSerializer):
    memory = serializers.CharField(source="text")
    metadata = ObjectField(allow_null=True)
    timestamp = serializers.DateTimeField(
        source="occurred_at", allow_null=True, help_text="When the conversation happened (the add's timestamp)."
    )
    categories = serializers.ListField(
        child=serializers.CharField(),
        help_text="The categories an inferred Platform add tagged it with (the project's custom_categories).",
    )

    @cached_property
    def zone(self):
        """The current time zone, looked up once per serializer (one response) rather than once per memory."""
        # Django keeps it in asgiref's context-local storage: ~5 us a lookup, 0.1 ms of a 20-result search.
        return timezone.get_current_timezone()

    def to_representation(self, instance):
        # What DRF builds from the fields below, written out: searches and lists answer with up to hundreds of
        # memories, and DRF's generic path costs ~0.15 ms a memory (tests compare the two field by field).
        return {
            **memory_representation(instance, self.zone),
            "timestamp": datetime_representation(instance.occurred_at, self.zone),
            "categories": list(instance.categories),
        }

    class Meta:
        model = Memory
        fields = [
            "id",
            "memory",
            "hash",
            "metadata",
            "created_at",
            "updated_at",
            "user_id",
            "agent_id",
            "app_id",
            "run_id",
            "actor_id",
            "role",
            "expiration_date",
            "timestamp",
            "categories",
        ]


def memory_representation(instance, zone) -> dict:
    """The fields every answer about a memory starts with, in their order, as DRF writes them."""
    return {
        "id": str(instance.id),
        "memory": instance.text,
        "hash": instance.hash,
        "metadata": instance.metadata,
        "created_at": datetime_representation(instance.created_at, zone),
        "updated_at": datetime_representation(instance.updated_at, zone),
        "user_id": instance.user_id,
        "agent_id": instance.agent_id,
        "app_id": instance.app_id,
        "run_id": instance.run_id,
        "actor_id": instance.actor_id,
        "role": instance.role,
        "expiration_date": instance.expiration_date.isoformat() if instance.expiration_date else None,
    }


def datetime_representation(value, zone):
    """As DRF's DateTimeField writes it: ISO 8601 in the current time zone (`zone`), UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class FiltersQueryField(serializers.CharField):
    """Metadata filters passed in a query string, as JSON text."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            value = json_loads(text)
        except NestedTooDeep as exc:
            raise serializers.ValidationError(f"Must not nest so deep: {exc}") from None
        except LongNumber as exc:
            raise serializers.ValidationError(f"Must hold shorter numbers: {exc}") from None
        except ValueError:
            raise serializers.ValidationError('Must be a JSON object, e.g. {"topic": "food"}.') from None
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return ObjectField().to_internal_value(value)


class ListMemoriesQuerySerializer(KnownFieldsOnly, ScopeMixin):
    route, what = "GET /memories", "query parameter"
    top_k = serializers.IntegerField(min_value=0, max_value=MAX_TOP_K, default=100)
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
    cursor = serializers.CharField(required=False, max_length=500)
    show_expired = serializers.BooleanField(default=False)
    filters = FiltersQueryField(required=False, help_text="JSON object of filters, as in POST /search.")

    def validate(self, attrs):
        if attrs.get("page") and attrs.get("cursor"):
            raise serializers.ValidationError("Give page or cursor, not both.")
        return attrs


# A page of history holds at most 50 events: with two 100,000-character texts each, what HISTORY_MAX_CHARS allows
# by default.
HISTORY_MAX_PAGE_SIZE = 50


class HistoryQuerySerializer(KnownFieldsOnly):
    route, what = "GET /memories/{memory_id}/history", "query parameter"
    page = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PAGE,
        required=False,
        help_text="Only this page of the history (oldest first); without it, the whole history, unless its texts, "
        "with 256 for each event, hold more than HISTORY_MAX_CHARS characters (a 400 saying to page).",
    )
    page_size = serializers.IntegerField(min_value=1, max_value=HISTORY_MAX_PAGE_SIZE, default=HISTORY_MAX_PAGE_SIZE)


class MemoryListResponseSerializer(serializers.Serializer):
    results = MemorySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page.")
    next_page = serializers.IntegerField(allow_null=True, help_text="Next page number when paging by `page`.")


class DeleteScopeQuerySerializer(ScopeMixin):
    def validate(self, attrs):
        unknown_params_refuse(
            self.initial_data,
            self.fields,
            takes=f"DELETE /memories takes {SCOPE_NAMES} and deletes every memory of that scope; to delete only the "
            "memories matching filters, use DELETE /v1/memories/?filters=...",
        )
        if not any(attrs.get(field) for field in SCOPE_FIELDS):
            raise serializers.ValidationError(f"One of {SCOPE_NAMES} is required.")
        return attrs


class UpdateMemoryRequestSerializer(KnownFieldsOnly):
    route = "PUT /memories/{memory_id}"
    text = StrictCharField(required=False, max_length=MAX_MESSAGE_LENGTH)
    data = StrictCharField(required=False, max_length=MAX_MESSAGE_LENGTH, help_text="Mem0's name for text.")
    metadata = ObjectField(required=False, help_text=MERGED_METADATA_HELP)
    expiration_date = serializers.DateField(required=False, allow_null=True, input_formats=["%Y-%m-%d"])

    def validate(self, attrs):
        text, data = attrs.pop("text", None), attrs.pop("data", None)
        if text is not None and data is not None and text != data:
            raise serializers.ValidationError("Give text or data, not two different values.")
        attrs["text"] = text if text is not None else data
        if attrs["text"] is None and attrs.get("metadata") is None and "expiration_date" not in attrs:
            raise serializers.ValidationError("Give at least one of text, metadata or expiration_date.")
        return attrs


class MessageResponseSerializer(serializers.Serializer):
    message = serializers.CharField()


def search_scope_check(filters: dict) -> dict:
    """A search's filters, when they bound it to scope ids (filters.scope_part: top level, AND, an `in` list, every
    branch of an OR), as the search itself requires; otherwise the 400 that says how to give a scope."""
    if not scope_part(filters):
        # {"userId": …}: say what to write
        raise serializers.ValidationError(camel_case_named(filters) or f"Search needs a scope: {SEARCH_SCOPE_HELP}")
    return filters


class SearchRequestSerializer(KnownFieldsOnly, ScopeMixin):
    route = "POST /search"
    query = StrictCharField(
        max_length=settings.MAX_QUERY_CHARS,
        error_messages={"max_length": f"Must be at most {settings.MAX_QUERY_CHARS} characters (MAX_QUERY_CHARS)."},
    )
    filters = ObjectField(
        required=False,
        allow_null=True,
        help_text=f"At most {settings.MAX_FILTER_CONDITIONS} conditions, AND/OR/NOT nested at most "
        f"{settings.MAX_FILTER_DEPTH} deep, {settings.MAX_FILTER_LIST} values in all its in/nin lists together, "
        f"{settings.MAX_FILTER_CONTAINS_CHARS} characters in all its contains/icontains texts together.",
    )
    top_k = serializers.IntegerField(min_value=0, max_value=MAX_TOP_K, required=False)
    limit = serializers.IntegerField(min_value=0, max_value=MAX_TOP_K, required=False, help_text="Alias of top_k.")
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.1)
    rerank = serializers.BooleanField(
        default=None,
        allow_null=True,
        help_text="Rerank the results (SEARCH_RERANKER); omitted or null: SEARCH_RERANK_DEFAULT. The response's "
        "`rerank` says whether it ran.",
    )
    explain = serializers.BooleanField(default=False)
    show_expired = serializers.BooleanField(default=False)
    reference_date = TimestampField(required=False, allow_null=True, help_text=REFERENCE_DATE_HELP)

    def validate(self, attrs):
        attrs["filters"] = search_scope_check(merge_scope(attrs, attrs.get("filters")))
        attrs["top_k"] = top_k_or_limit(self, attrs, default=20)
        return attrs


def top_k_or_limit(serializer: serializers.Serializer, attrs: dict, *, default: int) -> int:
    """A search's top_k, or `limit` (its name in Mem0's open-source API), whichever was sent, else `default`; both,
    differing, is a 400. `limit` leaves `attrs`."""
    limit = attrs.pop("limit", None)
    if serializer.initial_data.get("top_k") is None:  # not sent (null is not sent either)
        return default if limit is None else limit
    if limit is not None and attrs["top_k"] != limit:
        raise serializers.ValidationError({"limit": "Differs from top_k; give one of them."})
    return attrs["top_k"]


class ScoreDetailsSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["score", "rrf"], help_text="How the two lists were fused.")
    vector = serializers.FloatField(help_text="Cosine similarity of the query and the memory.")
    keyword = serializers.FloatField(
        help_text="BM25 of the memory for the query's keywords (stemmed, no stop words; rare words in the scope "
        "weigh most; no length normalisation), divided by what a memory holding each keyword once scores; at most 1."
    )
    keyword_weight = serializers.FloatField(help_text='With method "score": score = (1 - w) x vector + w x keyword.')
    bm25 = serializers.FloatField(help_text="The raw BM25 score (0 when no keyword matches).")
    vector_rank = serializers.IntegerField(allow_null=True, help_text="Rank among the candidates by meaning.")
    keyword_rank = serializers.IntegerField(allow_null=True, help_text="Rank by BM25; null without a keyword.")
    temporal = serializers.FloatField(
        allow_null=True,
        help_text="1 when the memory's time (the time its own text names, 'yesterday' read from its timestamp or when "
        "it was stored; else its timestamp, else when it was stored) overlaps the time the query names ('last week'), "
        "0 when not; null when the query names no time or no candidate is of that time.",
    )
    temporal_weight = serializers.FloatField(
        help_text="t in score = (1 - t) x the fused score + t x temporal (SEARCH_TEMPORAL_WEIGHT); 0 when the query "
        "names no time or no candidate is of that time."
    )
    fused = serializers.FloatField(
        required=False,
        help_text="The score from the two lists (and the query's time) alone, before late interaction; only when "
        "late interaction scored the memory.",
    )
    late_interaction = serializers.FloatField(
        required=False,
        help_text="0..1: each of the query's words matched with the memory's closest word by their token vectors "
        "(all-MiniLM-L6-v2), averaged; at least `fused` for a memory longer than the model reads (256 tokens). Only "
        "when late interaction scored the memory (the search, or the late-interaction reranker).",
    )
    late_interaction_weight = serializers.FloatField(
        required=False,
        help_text="w in score = (fused + w x late_interaction) / (1 + w); only when the search ranked by it.",
    )
    session_bonus = serializers.FloatField(
        required=False,
        help_text="Added to the score after late interaction: SEARCH_SESSION_BONUS (0.01) for each better result of "
        "the memory's conversation (its run_id, else its timestamp), for at most two; 0 for a memory with neither. "
        "Only when late interaction scored the memory.",
    )
    rerank_rank = serializers.IntegerField(required=False, help_text="Rank given by the reranker, when it ran.")
    rerank_score = serializers.FloatField(
        required=False,
        help_text="The reranker's own score, when it ran: the cross-encoder's or the rerank API's (not 0..1), or late "
        "interaction's (0..1).",
    )


class SearchResultSerializer(MemorySerializer):
    score = serializers.FloatField()
    score_details = ScoreDetailsSerializer(required=False, help_text="Only with explain=true.")

    class Meta(MemorySerializer.Meta):
        fields = [*MemorySerializer.Meta.fields, "score", "score_details"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["score"] = instance.score
        if self.context.get("explain"):
            data["score_details"] = ScoreDetailsSerializer(instance.score_details).data
        return data


class RerankOutcomeSerializer(serializers.Serializer):
    applied = serializers.BooleanField(help_text="False: the results are in fused order (see detail).")
    by = serializers.CharField(allow_null=True, help_text="The reranker: llm, cross-encoder, api or late-interaction.")
    detail = serializers.CharField(allow_null=True, help_text="Why reranking did not run, when it did not.")


class SearchResponseSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    rerank = RerankOutcomeSerializer(required=False, help_text="Only when reranking was asked for.")

    def to_representation(self, instance):
        # The fields above, written out: DRF's generic path copies every declared field (and the result
        # serializer's) for each response first, a quarter of the time a 20-result answer takes to write.
        result = SearchResultSerializer(context=self.context)
        data = {"results": [result.to_representation(memory) for memory in instance["results"]]}
        if instance.get("rerank") is not None:
            data["rerank"] = RerankOutcomeSerializer(instance["rerank"]).data
        return data


class HistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = MemoryHistory
        fields = [
            "id",
            "memory_id",
            "old_memory",
            "new_memory",
            "event",
            "created_at",
            "updated_at",
            "is_deleted",
            "actor_id",
            "role",
        ]
