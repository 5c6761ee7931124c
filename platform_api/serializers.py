"""Request and response shapes of the Platform memory, ping and project routes (the official SDKs' wire format).

Memory objects and add results are the OSS front door's (memories.serializers): one shape for one thing.
"""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, time
from functools import cache, cached_property
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mem0server.paging import MAX_PAGE
from mem0server.parsers import NestedTooDeep, json_loads
from mem0server.serializers import (
    KnownFieldsOnly,
    ObjectField,
    RequestSerializer,
    StrictCharField,
    unknown_params_refuse,
)
from mem0server.text import unstorable_json
from memories.filters import WILDCARD, camel_case_named, required_scope
from memories.inference import MAX_FACTS, MAX_MEMORY_CHARS
from memories.models import SCOPE_FIELDS, SCOPE_NAMES
from memories.serializers import (
    HISTORY_MAX_PAGE_SIZE,
    MAX_MESSAGE_LENGTH,
    MAX_TOP_K,
    MERGED_METADATA_HELP,
    METADATA_HELP,
    REFERENCE_DATE_HELP,
    HistoryQuerySerializer,
    HistorySerializer,
    MemorySerializer,
    MessagesField,
    RerankOutcomeSerializer,
    ScopeIdField,
    ScopeMixin,
    TimestampField,
    datetime_representation,
    memory_representation,
    merge_scope,
    search_scope_check,
    top_k_or_limit,
)
from memories.timestamps import parse_timestamp

MAX_INSTRUCTIONS = 20_000
# The latest instant a date field holds (9999-12-31T23:59:59Z): a later Unix time is a mistake, not a date.
MAX_TIMESTAMP = 253_402_300_799
MAX_QUERY_FILTERS = 10_000
# Mem0's older routes (POST /v1/memories/, its v1 and v2 search, v2 list) answer a bare list unless the caller asks
# for "v1.1"; the v3 routes always answer {"results": [...]}.
OUTPUT_FORMAT_HELP = (
    'Older routes (v1 add, v1/v2 search, v2 list): "v1.1" answers {"results": [...]}; otherwise a bare list, as '
    "Mem0's older API (and its 0.1.x Python and 1.x/2.x TypeScript clients) expects. The v3 routes ignore it."
)
OUTPUT_FORMATS = ("v1.0", "v1.1")
# Sent beside get_all's and search's options, changing nothing that is listed or found: Mem0's CLI and TypeScript
# client send source, older clients version (Python's get_all(version=...)) and org_name / project_name (the
# TypeScript client's older project names). Any other field the options do not name is a 400 naming it.
SENT_ALONG = ("source", "version", "org_name", "project_name")
# Mastra's Mem0 integration (npm @mastra/mem0) spreads its client's own options into every add and search: the key
# (the header's, which is what authenticates), the host, and the client's organization and project. Ignored.
CLIENT_OPTIONS = ("apiKey", "host", "organizationName", "projectName", "organizationId", "projectId")


def enable_graph_field() -> serializers.BooleanField:
    """Mem0's graph memory switch, which clients send on add, get_all and search (Mem0's graph memory guide does, and
    Flowise's memory options): accepted, and changes nothing, as no graph is kept here (relations, where an answer
    carries them, are empty: relations_field)."""
    return serializers.BooleanField(
        required=False, allow_null=True, help_text="Accepted and ignored: no graph is kept (relations are empty)."
    )


def relations_field(**options) -> serializers.ListField:
    """The `relations` of an older route's "v1.1" answer, as Mem0's (its external graph store's relations): always
    empty, as Mem0's Platform now leaves it, its graph folded into the ranking."""
    options.setdefault("help_text", "Always empty: no graph relations are kept.")
    return serializers.ListField(child=serializers.DictField(), **options)


def output_format_field(help_text: str = OUTPUT_FORMAT_HELP) -> serializers.ChoiceField:
    """Mem0's two output formats: any other value answered a bare list to a caller who may have meant "v1.1"."""
    return serializers.ChoiceField(
        choices=OUTPUT_FORMATS,
        required=False,
        allow_null=True,
        help_text=help_text,
        error_messages={"invalid_choice": 'Must be "v1.0" or "v1.1", not "{input}".'},
    )


# GET /v1/memories/ without paging answers at most this many (Mem0's reference: `limit`, at most 200).
MAX_V1_LIMIT = 200


class PlatformProjectRefSerializer(RequestSerializer):
    org_id = StrictCharField(required=False, allow_blank=True, max_length=255, help_text="Yours, or 404.")
    project_id = StrictCharField(required=False, allow_blank=True, max_length=255, help_text="Yours, or 404.")


# --- ping -------------------------------------------------------------------------------------------------


class PlatformPingQuerySerializer(PlatformProjectRefSerializer):
    pass


class PlatformPingResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])
    message = serializers.CharField()
    org_id = serializers.CharField(help_text="The caller's organisation (one per account).")
    project_id = serializers.CharField(help_text="The caller's project (one per account).")
    user_email = serializers.EmailField(allow_null=True)


# --- add --------------------------------------------------------------------------------------------------


class CategoriesField(serializers.JSONField):
    """Category names, or objects such as {"travel": "trips, hotels and flights"}."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str | dict) for item in value):
            raise serializers.ValidationError("Must be a list of category names or objects.")
        if len(value) > 1000:
            raise serializers.ValidationError("Must hold at most 1000 categories.")
        if problem := unstorable_json(value):
            raise serializers.ValidationError(f"Must not contain {problem}.")
        return value


def prompt_text_field(help_text: str) -> StrictCharField:
    """Text an add gives its extraction prompt (instructions, what to keep to or leave out): optional, at most
    MAX_INSTRUCTIONS characters."""
    return StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=MAX_INSTRUCTIONS, help_text=help_text
    )


class NaiveKeptDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time, an offset kept when given and none added when not (the request's timezone says)."""

    def enforce_timezone(self, value):
        return value


def refuse_set(message: str):
    """A validator for an option this server cannot honour: taken when null, false or empty, else a 400 saying so."""

    def check(value):
        if value:
            raise serializers.ValidationError(message)

    return check


class PlatformAddRequestSerializer(KnownFieldsOnly, ScopeMixin, PlatformProjectRefSerializer):
    # The SDKs send add's keyword arguments as they are: a misspelt one (metdata) was dropped and the memory stored
    # without it. Older clients send api_version beside version.
    sent_along = (*SENT_ALONG, *CLIENT_OPTIONS, "api_version")
    takes = (
        "add takes messages, filters (or user_id, agent_id, app_id, run_id), metadata, infer, async_mode, "
        "custom_instructions, agent_custom_instructions, includes, excludes, custom_categories, timestamp, "
        "observation_date, observation_datetime, timezone, expiration_date, output_format, enable_graph, "
        "temporal_reasoning, immutable, structured_data_schema, prompt_profile_id, deduced_memories, org_id and "
        "project_id."
    )
    messages = MessagesField()
    deduced_memories = serializers.ListField(
        child=StrictCharField(max_length=MAX_MESSAGE_LENGTH),
        required=False,
        allow_null=True,
        allow_empty=False,
        max_length=settings.MAX_MESSAGES_PER_ADD,
        help_text="Facts already drawn from the messages (OpenClaw's memory_add sends them): stored instead of the "
        "messages, one memory each; with infer the LLM reconciles them with the scope's memories without "
        "extracting.",
    )
    filters = ObjectField(
        required=False, allow_null=True, help_text="The scope ids of the new memories, e.g. {'user_id': 'alice'}."
    )
    metadata = ObjectField(required=False, allow_null=True, help_text=METADATA_HELP)
    infer = serializers.BooleanField(default=True)
    custom_instructions = prompt_text_field(
        "The extraction prompt for this add; the project's custom_instructions when not given."
    )
    agent_custom_instructions = prompt_text_field(
        "The extraction prompt when the scope is an agent's alone (agent_id without user_id)."
    )
    expiration_date = serializers.DateField(required=False, allow_null=True, input_formats=["%Y-%m-%d"])
    timestamp = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_TIMESTAMP,
        help_text="Unix seconds.",
        error_messages={
            "invalid": "Must be unix seconds as a whole number, as the SDKs type it: in JavaScript "
            "Math.floor(Date.now() / 1000), in Python int(time.time())."
        },
    )
    async_mode = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="POST /v3/memories/add/: false runs the add before answering; otherwise (default) it is queued "
        "and the answer is an event id. POST /v1/memories/: true queues it; otherwise it runs before answering.",
    )
    custom_categories = CategoriesField(
        required=False,
        allow_null=True,
        help_text="The categories this add's memories are tagged from, instead of the project's (with infer).",
    )
    version = StrictCharField(required=False, allow_null=True, max_length=16, help_text="Accepted; ignored.")
    output_format = output_format_field()
    includes = prompt_text_field(
        'With infer: what the extraction writes down facts about, e.g. "food" (added to its prompt).'
    )
    excludes = prompt_text_field('With infer: what the extraction leaves out, e.g. "work" (added to its prompt).')
    observation_date = serializers.DateField(
        required=False,
        allow_null=True,
        input_formats=["%Y-%m-%d"],
        help_text="The day the conversation happened (midnight in `timezone`): as timestamp, which it replaces.",
    )
    observation_datetime = NaiveKeptDateTimeField(
        required=False,
        allow_null=True,
        help_text="When the conversation happened, ISO 8601 (without an offset: in `timezone`): as timestamp.",
    )
    timezone = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=64,
        help_text="The IANA zone observation_date and an observation_datetime without an offset are in; UTC if not "
        "given.",
    )
    enable_graph = enable_graph_field()
    temporal_reasoning = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Accepted: the extraction always reads relative dates against the conversation's date.",
    )
    immutable = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="false or null only: this server keeps no immutable memories.",
        validators=[refuse_set("This server keeps no immutable memories: leave immutable out, or false.")],
    )
    structured_data_schema = ObjectField(
        required=False,
        allow_null=True,
        help_text="null only: this server does not extract to a schema.",
        validators=[refuse_set("This server does not extract to a schema: leave structured_data_schema out.")],
    )
    prompt_profile_id = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=255,
        help_text="null only: this server keeps no prompt profiles.",
        validators=[refuse_set("This server keeps no prompt profiles: give the prompt as custom_instructions.")],
    )

    def validate_timezone(self, value):
        if not value:
            return None
        if value not in zone_names():
            raise serializers.ValidationError(f'Unknown timezone "{value}": give an IANA name such as "Europe/Berlin".')
        return ZoneInfo(value)

    def validate_filters(self, value):
        ids = {}
        for key, item in (value or {}).items():
            if key not in SCOPE_FIELDS:
                raise serializers.ValidationError(f"On add, filters holds only scope ids ({SCOPE_NAMES}); not {key!r}.")
            field = ScopeIdField()
            field.bind(key, self)  # its messages name the key
            try:
                ids[key] = field.run_validation(item)  # trimmed, as a top-level id: " alice " is alice
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({key: exc.detail}) from None
        return ids

    def validate_deduced_memories(self, value):
        total = sum(map(len, value or ()))
        if total > settings.MAX_ADD_CHARS:
            raise serializers.ValidationError(
                f"The facts hold {total} characters together; at most {settings.MAX_ADD_CHARS} per request are "
                "allowed (MAX_ADD_CHARS): send them in several requests."
            )
        return value

    def validate(self, attrs):
        filters = merge_scope(attrs, attrs.pop("filters", None))
        if not filters:
            raise serializers.ValidationError(f"One of {SCOPE_NAMES} is required (in filters).")
        attrs["scope"] = filters
        if attrs["infer"] and attrs.get("deduced_memories"):
            inferred_facts_check(attrs["deduced_memories"])
        observed = observation_time(attrs)
        if observed is not None:
            attrs["timestamp"] = observed
        return attrs


def inferred_facts_check(facts: list[str]) -> None:
    """With inference, deduced memories go to the LLM as extracted facts do: no more of them, and none longer."""
    if len(facts) > MAX_FACTS:
        raise serializers.ValidationError(
            {
                "deduced_memories": f"Has {len(facts)} facts; with infer at most {MAX_FACTS} (as many as an extraction "
                "keeps): send them in several adds, or with infer false to store them as they are."
            }
        )
    for index, fact in enumerate(facts):
        if len(fact) > MAX_MEMORY_CHARS:
            raise serializers.ValidationError(
                {
                    "deduced_memories": f"Fact {index} has {len(fact)} characters; with infer at most "
                    f"{MAX_MEMORY_CHARS} (as an extracted fact), or infer false to store it as it is."
                }
            )


def observation_time(attrs: dict) -> str | None:
    """observation_date or observation_datetime as the add's timestamp: an ISO 8601 time with the offset of its
    zone, so the extraction reads relative dates against the day it was there."""
    given = [name for name in ("timestamp", "observation_date", "observation_datetime") if attrs.get(name) is not None]
    if len(given) > 1:
        raise serializers.ValidationError(
            f"Give one of timestamp, observation_date and observation_datetime, not {' and '.join(given)}."
        )
    zone = attrs.pop("timezone", None) or UTC
    day, moment = attrs.pop("observation_date", None), attrs.pop("observation_datetime", None)
    if day is not None:
        moment, name = datetime.combine(day, time(), tzinfo=zone), "observation_date"
    elif moment is not None:
        moment, name = (moment if moment.tzinfo else moment.replace(tzinfo=zone)), "observation_datetime"
    else:
        return None
    try:
        return parse_timestamp(moment.isoformat()).isoformat()  # its checks: in range, an offset the database takes
    except ValueError as exc:
        raise serializers.ValidationError({name: str(exc)}) from None


@cache
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


# --- memories in list and search answers ------------------------------------------------------------------

# The keys of a memory in a Platform list or search answer (`fields` names some of them): the OSS routes' own.
MEMORY_FIELDS = tuple(MemorySerializer.Meta.fields)
RESULT_FIELDS = (*MEMORY_FIELDS, "score")


def fields_field(names: tuple[str, ...], help_text: str) -> serializers.ListField:
    """Mem0's `fields` option: only these keys of each memory; a name that is not one of them is a 400 listing them."""
    return serializers.ListField(
        child=serializers.ChoiceField(
            choices=names,
            error_messages={"invalid_choice": f'Unknown field "{{input}}"; choose from {", ".join(names)}.'},
        ),
        required=False,
        allow_null=True,
        max_length=len(names),
        help_text=help_text,
    )


def only_fields(data: dict, fields: list[str] | None) -> dict:
    """`data` with only the keys `fields` names (all of them when it names none)."""
    return {key: value for key, value in data.items() if key in fields} if fields else data


class PlatformMemoryResultSerializer(serializers.Serializer):
    """One memory of a list (and the base of a search hit); every key is optional because `fields` may leave it
    out."""

    id = serializers.UUIDField(required=False)
    memory = serializers.CharField(source="text", required=False)
    hash = serializers.CharField(required=False)
    metadata = ObjectField(required=False, allow_null=True)
    created_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField(required=False)
    user_id = serializers.CharField(required=False, allow_null=True)
    agent_id = serializers.CharField(required=False, allow_null=True)
    app_id = serializers.CharField(required=False, allow_null=True)
    run_id = serializers.CharField(required=False, allow_null=True)
    actor_id = serializers.CharField(required=False, allow_null=True)
    role = serializers.CharField(required=False, allow_null=True)
    expiration_date = serializers.DateField(required=False, allow_null=True)
    timestamp = serializers.DateTimeField(source="occurred_at", required=False, allow_null=True)
    categories = serializers.ListField(child=serializers.CharField(), required=False)

    @cached_property
    def zone(self):
        """The current time zone, looked up once per serializer (one response), as MemorySerializer does."""
        return timezone.get_current_timezone()

    def to_representation(self, instance):
        return only_fields(self.every_field(instance), self.context.get("fields"))

    def every_field(self, instance) -> dict:
        # What DRF builds from the fields above, written out as MemorySerializer's is (tests compare the two).
        return {
            **memory_representation(instance, self.zone),
            "timestamp": datetime_representation(instance.occurred_at, self.zone),
            "categories": list(instance.categories),
        }


class PlatformSearchResultSerializer(PlatformMemoryResultSerializer):
    """One hit; every key is optional because `fields` may leave it out."""

    score = serializers.FloatField(required=False)

    def every_field(self, instance) -> dict:
        return {**super().every_field(instance), "score": float(instance.score)}


# --- get_all ----------------------------------------------------------------------------------------------


class CategoryNamesField(serializers.ListField):
    """The SDKs' top-level `categories` option of get_all and search: memories tagged with any of these."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", StrictCharField(max_length=1000))
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault(
            "help_text",
            'Only memories tagged with one of these categories (as filters {"categories": {"in": [...]}}); '
            "an empty list filters nothing.",
        )
        super().__init__(**kwargs)


def category_condition(categories: list[str] | None) -> list[dict]:
    """The filter conditions (none, or one) that the top-level `categories` option stands for."""
    return [{"categories": {"in": categories}}] if categories else []


class PlatformPageQuerySerializer(PlatformProjectRefSerializer):
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=100)


class PlatformEntityMemoriesQuerySerializer(KnownFieldsOnly, PlatformPageQuerySerializer):
    route, what, sent_along = "GET /v1/memories/{entity_type}/{entity_id}/", "query parameter", SENT_ALONG


class PlatformListRequestSerializer(KnownFieldsOnly, ScopeMixin, PlatformProjectRefSerializer):
    # The SDKs send every keyword argument of get_all in the body: one ignored here (top_k, a misspelt page_size)
    # answered more memories than asked for, as if it had been applied.
    sent_along = SENT_ALONG
    takes = (
        "get_all takes filters, page, page_size, start_date, end_date, categories, keywords, metadata, fields, "
        "show_expired, latest_only, output_format, enable_graph, org_id and project_id."
    )
    enable_graph = enable_graph_field()
    filters = ObjectField(
        required=False,
        allow_null=True,
        help_text="Scope ids, metadata keys, operators (eq, ne, gt, gte, lt, lte, in, nin, contains, icontains, "
        "'*') and AND / OR / NOT lists. Without filters: every memory the caller may see.",
    )
    page = serializers.IntegerField(
        min_value=1, max_value=MAX_PAGE, required=False, help_text="Also accepted in the query, whose value wins."
    )
    page_size = serializers.IntegerField(
        min_value=1, max_value=MAX_TOP_K, required=False, help_text="Also accepted in the query, whose value wins."
    )
    show_expired = serializers.BooleanField(default=False)
    start_date = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="Only memories created at or after this time: YYYY-MM-DD, ISO 8601 or unix seconds.",
    )
    end_date = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        help_text="Only memories created up to this time; a bare YYYY-MM-DD includes that whole day.",
    )
    categories = CategoryNamesField()
    latest_only = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Accepted: a memory is stored as its latest version only (history keeps the earlier texts).",
    )
    keywords = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=settings.MAX_QUERY_CHARS,
        help_text="Only memories whose text holds this text, in any case (as filters "
        '{"keywords": {"icontains": "..."}}).',
    )
    metadata = ObjectField(
        required=False,
        allow_null=True,
        help_text="Metadata conditions the memories must also meet, as the filters' metadata field (as on search).",
    )
    fields = fields_field(MEMORY_FIELDS, "Only these keys of each memory, e.g. ['id', 'memory']; none: all.")
    output_format = output_format_field()

    def validate(self, attrs):
        filters = merge_scope(attrs, attrs.get("filters"))
        conditions = category_condition(attrs.pop("categories", None))
        if keywords := attrs.pop("keywords", None):
            conditions.append({"keywords": {"icontains": keywords}})
        if metadata := attrs.pop("metadata", None):
            conditions.append({"metadata": metadata})
        if start := attrs.pop("start_date", None):
            conditions.append({"created_at": {"gte": _created_bound("start_date", start)}})
        if end := attrs.pop("end_date", None):
            conditions.append({"created_at": {"lte": _created_bound("end_date", end)}})
        attrs["filters"] = {"AND": [filters, *conditions]} if conditions else filters
        return attrs


def _created_bound(field: str, value: str) -> str:
    """A bound for the created_at filter, which reads a bare YYYY-MM-DD as that whole UTC day (so an end date
    includes it); a 400 naming `field` when it is no time."""
    try:
        parse_timestamp(value)
    except ValueError as exc:
        raise serializers.ValidationError({field: f"{value[:40]!r}: {exc}"}) from None
    return value.strip()


class PlatformMemoryPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Memories the filters match, over all pages.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PlatformMemoryResultSerializer(many=True, help_text="Each with the keys `fields` names, or all.")


class PlatformMemoryPageV11Serializer(PlatformMemoryPageSerializer):
    relations = relations_field(required=False, help_text='With output_format "v1.1" and enable_graph: empty.')


# --- search -----------------------------------------------------------------------------------------------


class PlatformSearchRequestSerializer(KnownFieldsOnly, ScopeMixin, PlatformProjectRefSerializer):
    # As get_all's: the SDKs send every keyword argument in the body, and one ignored here (limit, a misspelt top_k)
    # answered ten results as if it had been applied.
    sent_along = (*SENT_ALONG, *CLIENT_OPTIONS)
    takes = (
        "search takes query, filters, top_k (or limit), threshold, rerank, fields, categories, metadata, "
        "show_expired, keyword_search, reference_date, latest_only, output_format, enable_graph, org_id and "
        "project_id."
    )
    enable_graph = enable_graph_field()
    # The OSS /search limit: the same setting and message on every front door.
    query = StrictCharField(
        max_length=settings.MAX_QUERY_CHARS,
        error_messages={"max_length": f"Must be at most {settings.MAX_QUERY_CHARS} characters (MAX_QUERY_CHARS)."},
    )
    filters = ObjectField(
        required=False,
        allow_null=True,
        help_text="As in get_all; must name a scope id (top level, inside AND, an in list, or in every branch of "
        "an OR), e.g. {'user_id': 'alice'}.",
    )
    metadata = ObjectField(
        required=False,
        allow_null=True,
        help_text="Metadata conditions the results must also meet, as the filters' metadata field: "
        "{'topic': 'food'} keeps memories whose metadata topic is food.",
    )
    top_k = serializers.IntegerField(min_value=0, max_value=MAX_TOP_K, default=10)
    limit = serializers.IntegerField(
        min_value=0,
        max_value=MAX_TOP_K,
        required=False,
        help_text="Alias of top_k (its name in Mem0's open-source API, and in code written for both).",
    )
    threshold = serializers.FloatField(
        min_value=0.0, max_value=1.0, required=False, allow_null=True, help_text="Minimum score; default 0.1."
    )
    rerank = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Rerank with the configured reranker (SEARCH_RERANKER); null follows SEARCH_RERANK_DEFAULT.",
    )
    fields = fields_field(RESULT_FIELDS, "Only these keys in each result.")
    show_expired = serializers.BooleanField(default=False)
    keyword_search = serializers.BooleanField(
        required=False, allow_null=True, help_text="Accepted; keywords always count."
    )
    categories = CategoryNamesField()
    reference_date = TimestampField(required=False, allow_null=True, help_text=REFERENCE_DATE_HELP)
    latest_only = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Accepted: a memory is stored as its latest version only (history keeps the earlier texts).",
    )
    output_format = output_format_field()

    def validate(self, attrs):
        attrs["top_k"] = top_k_or_limit(self, attrs, default=attrs["top_k"])  # the schema's default, 10
        attrs["filters"] = merge_scope(attrs, attrs.get("filters"))
        if condition := category_condition(attrs.pop("categories", None)):
            attrs["filters"] = {"AND": [attrs["filters"], *condition]}
        if metadata := attrs.pop("metadata", None):
            attrs["filters"] = {"AND": [attrs["filters"], {"metadata": metadata}]}
        search_scope_check(attrs["filters"])
        if attrs.get("threshold") is None:
            attrs["threshold"] = 0.1
        return attrs


class PlatformSearchResponseSerializer(serializers.Serializer):
    results = PlatformSearchResultSerializer(many=True)
    rerank = RerankOutcomeSerializer(required=False, help_text="Only when reranking was asked for.")

    def to_representation(self, instance):
        # The fields above, written out: DRF's generic path copies every declared field of both serializers
        # for each response first, about a third of the time a 10-result answer took to write.
        result = PlatformSearchResultSerializer(context=self.context)
        data = {"results": [result.to_representation(memory) for memory in instance["results"]]}
        if instance.get("rerank") is not None:
            data["rerank"] = RerankOutcomeSerializer(instance["rerank"]).data
        return data


class PlatformSearchV11Serializer(PlatformSearchResponseSerializer):
    """An older route's search answer for output_format "v1.1"."""

    relations = relations_field()


# --- update and delete ------------------------------------------------------------------------------------


class PlatformUpdateRequestSerializer(KnownFieldsOnly, PlatformProjectRefSerializer):
    # Python's update() sends its keyword arguments as they are: a misspelt one was dropped silently.
    route, sent_along = "PUT /v1/memories/{memory_id}/", SENT_ALONG
    text = StrictCharField(required=False, max_length=MAX_MESSAGE_LENGTH)
    metadata = ObjectField(required=False, help_text=MERGED_METADATA_HELP)
    timestamp = TimestampField(
        required=False,
        allow_null=True,
        help_text="When the conversation happened (unix seconds or ISO 8601, as the SDKs allow); null clears it.",
    )
    expiration_date = serializers.DateField(
        required=False, allow_null=True, input_formats=["%Y-%m-%d"], help_text="null clears it."
    )

    def validate(self, attrs):
        if not {"text", "metadata", "timestamp", "expiration_date"} & set(attrs):
            raise serializers.ValidationError("Give at least one of text, metadata, timestamp or expiration_date.")
        return attrs


@extend_schema_field(
    {
        "type": "string",
        "description": 'A JSON object, e.g. {"user_id": "alice"} (the Python SDK sends its dict\'s repr).',
    }
)
class QueryFiltersField(serializers.CharField):
    """Filters in a query string: JSON, or the Python literal the official SDK sends (httpx writes str(dict))."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        # Checked here rather than as max_length: a schema maxLength this long makes fuzzers build URLs longer
        # than a server accepts (414), which says nothing about this API.
        if len(text) > MAX_QUERY_FILTERS:
            raise serializers.ValidationError(f"Must be at most {MAX_QUERY_FILTERS} characters.")
        if text.startswith("[object "):
            # What JavaScript's URLSearchParams makes of an object: the TypeScript client's deleteAll({filters}), and
            # its 2.x getAll's object options (a LangChain.js Mem0Memory's filters or metadata).
            raise serializers.ValidationError(
                f"Got {text[:40]!r}, a JavaScript object written as text, not the filters: the TypeScript client "
                'puts its options in the query string here (deleteAll; getAll in 2.x unless api_version is "v2", '
                "which sends them as JSON). Pass the scope ids instead, deleteAll({userId: 'alice'}), give getAll "
                'api_version "v2", or send filters as JSON text, e.g. filters={"user_id": "alice"}.'
            )
        try:
            value = json_loads(text)
        except NestedTooDeep as exc:
            raise serializers.ValidationError(f"Must not nest so deep: {exc}") from None
        except ValueError:
            try:
                # Literals only: nothing is evaluated. Bounded by max_length; deep nesting is a RecursionError.
                value = ast.literal_eval(text)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise serializers.ValidationError('Must be a JSON object, e.g. {"user_id": "alice"}.') from None
            if not isinstance(value, dict):
                raise serializers.ValidationError("Must be a JSON object.") from None
            try:
                value = json.loads(json.dumps(value))  # tuples, sets, bytes, … are not JSON
            except (TypeError, ValueError, RecursionError):
                raise serializers.ValidationError("Must be a JSON object.") from None
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return ObjectField().run_validation(value)


class WildcardScopeIdField(ScopeIdField):
    """A scope id, or Mem0's "*": every memory that has one."""

    def to_internal_value(self, data):
        return WILDCARD if data == WILDCARD else super().to_internal_value(data)


SCOPE_HELP = "The memory's {0} (null when it has none, or once it is deleted: history does not keep it)."
WILDCARD_HELP = 'Or "*": the memories that have any {0} (all four "*": every memory of the caller).'


class PlatformHistoryQuerySerializer(HistoryQuerySerializer, PlatformProjectRefSerializer):
    route = "GET /v1/memories/{memory_id}/history/"


class PlatformHistorySerializer(HistorySerializer):
    """An event of a memory's history as Mem0's Platform answers it: with the memory's scope ids and `input`."""

    input = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="The messages that led to this change, in Mem0's answer; this server does not keep them: always [].",
    )
    user_id = serializers.CharField(read_only=True, allow_null=True, help_text=SCOPE_HELP.format("user_id"))
    agent_id = serializers.CharField(read_only=True, allow_null=True, help_text=SCOPE_HELP.format("agent_id"))
    app_id = serializers.CharField(read_only=True, allow_null=True, help_text=SCOPE_HELP.format("app_id"))
    session_id = serializers.CharField(read_only=True, allow_null=True, help_text=SCOPE_HELP.format("run_id"))

    class Meta(HistorySerializer.Meta):
        fields = [*HistorySerializer.Meta.fields, "input", "user_id", "agent_id", "app_id", "session_id"]


class PlatformEventsQuerySerializer(KnownFieldsOnly, PlatformProjectRefSerializer):
    route, what = "GET /v1/memories/events/", "query parameter"
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1, help_text="The page, from 1.")
    limit = serializers.IntegerField(
        min_value=1,
        max_value=HISTORY_MAX_PAGE_SIZE,
        default=HISTORY_MAX_PAGE_SIZE,
        help_text="Events per page (Mem0 pages by 100; here at most 50, as a memory's history pages: each event "
        "may carry two 100,000-character texts).",
    )


class PlatformEventsResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Events in all.")
    next = serializers.URLField(allow_null=True, help_text="The next page's URL; null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page's URL; null on the first.")
    results = HistorySerializer(many=True)


class PlatformDeleteAllQuerySerializer(ScopeMixin, PlatformProjectRefSerializer):
    user_id = WildcardScopeIdField(help_text=WILDCARD_HELP.format("user_id"))
    agent_id = WildcardScopeIdField(help_text=WILDCARD_HELP.format("agent_id"))
    app_id = WildcardScopeIdField(help_text=WILDCARD_HELP.format("app_id"))
    run_id = WildcardScopeIdField(help_text=WILDCARD_HELP.format("run_id"))
    filters = QueryFiltersField(required=False)
    source = StrictCharField(
        required=False, allow_blank=True, max_length=255, help_text="The calling client (Mem0's CLI sends CLI)."
    )

    def validate(self, attrs):
        # A parameter this route ignored would leave the delete wider than asked: Mem0's reference lists
        # `metadata` here, and `?user_id=alice&metadata={...}` deleted all of alice's memories.
        unknown_params_refuse(
            self.initial_data,
            self.fields,
            takes=f"DELETE /v1/memories/ takes {SCOPE_NAMES}, org_id, project_id, filters and source; to delete by "
            'metadata, put the keys in filters, e.g. filters={"user_id": "alice", "topic": "food"}.',
        )
        attrs["filters"] = attrs.get("filters") or {}
        # Mem0's wildcard delete: `user_id=*` deletes every memory that has a user_id, and `mem0 delete --all
        # --project` sends all four to wipe the project. Taken out of the scope ids, as the fields they name.
        attrs["any_of"] = [field for field in SCOPE_FIELDS if attrs.get(field) == WILDCARD]
        for field in attrs["any_of"]:
            del attrs[field]
        if not (required_scope(attrs["filters"]) or attrs["any_of"] or any(attrs.get(f) for f in SCOPE_FIELDS)):
            raise serializers.ValidationError(
                camel_case_named(attrs["filters"])
                or f'Deleting memories needs a scope: {SCOPE_NAMES} (query or filters), or "*" for any of them '
                "(user_id=*&agent_id=*&app_id=*&run_id=* deletes every memory)."
            )
        return attrs


class PlatformListV1QuerySerializer(ScopeMixin, PlatformProjectRefSerializer):
    """GET /v1/memories/: what Python mem0ai 0.1.x's get_all() and the TypeScript client 1.x/2.x's getAll() send
    by default, the scope ids in the query."""

    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, required=False)
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_V1_LIMIT, default=100, help_text="Without page and page_size: at most this many."
    )
    filters = QueryFiltersField(required=False, help_text="JSON, as on DELETE /v1/memories/.")
    output_format = output_format_field('"v1.0" or "v1.1"; either way the answer is a list.')
    version = StrictCharField(required=False, max_length=16, help_text="Accepted; ignored.")
    enable_graph = enable_graph_field()

    def validate(self, attrs):
        # A filter this route ignored (Mem0's reference lists metadata, categories, keywords) would answer more
        # memories than asked for as if they matched.
        unknown_params_refuse(
            self.initial_data,
            self.fields,
            takes=f"GET /v1/memories/ takes {SCOPE_NAMES}, filters, page, page_size, limit, enable_graph, org_id "
            "and project_id; for metadata, categories or dates use POST /v3/memories/ (get_all with filters).",
        )
        # One of them alone answered a list all the same, page_size ignored or page counted in `limit`s.
        if ("page" in attrs) != ("page_size" in attrs):
            raise serializers.ValidationError(
                "page and page_size go together: give both for a page ({count, next, previous, results}), or "
                "neither for a list of at most `limit` memories."
            )
        attrs["filters"] = merge_scope(attrs, attrs.get("filters"))
        attrs["paged"] = "page" in attrs
        return attrs


class PlatformDeleteOneQuerySerializer(PlatformProjectRefSerializer):
    delete_linked = serializers.BooleanField(
        required=False, help_text="Accepted; memories here are never linked, so only this one is deleted."
    )


class PlatformDeletedResponseSerializer(serializers.Serializer):
    message = serializers.CharField()


class PlatformDeleteAllResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    deleted = serializers.IntegerField(help_text="How many memories were deleted.")


# --- project ----------------------------------------------------------------------------------------------

PROJECT_KEYS = (
    "org_id",
    "project_id",
    "custom_instructions",
    "agent_custom_instructions",
    "custom_categories",
    "memory_depth",
    "usecase_setting",
    "multilingual",
)


@extend_schema_field(
    {
        "type": "array",
        "items": {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": True}]},
        "nullable": True,
    }
)
@extend_schema_field({})
class AnyJSONField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if problem := unstorable_json(value):
            raise serializers.ValidationError(f"Must not contain {problem}.")
        return value


class PlatformProjectQuerySerializer(serializers.Serializer):
    fields = serializers.ListField(
        child=StrictCharField(max_length=1000),
        required=False,
        max_length=len(PROJECT_KEYS),
        help_text="Only these keys (repeat the parameter, or separate names with commas).",
    )

    def validate_fields(self, value):
        names = [name.strip() for item in value for name in item.split(",") if name.strip()]
        unknown = [name for name in names if name not in PROJECT_KEYS]
        if unknown:
            raise serializers.ValidationError(f"Unknown fields {unknown}; choose from {', '.join(PROJECT_KEYS)}.")
        return names


class PlatformProjectSerializer(serializers.Serializer):
    """The project's settings; every key optional because `fields` may leave it out."""

    org_id = serializers.CharField(required=False)
    project_id = serializers.CharField(required=False)
    custom_instructions = serializers.CharField(required=False, allow_blank=True)
    agent_custom_instructions = serializers.CharField(required=False, allow_blank=True)
    custom_categories = CategoriesField(required=False, allow_null=True)
    memory_depth = serializers.CharField(required=False, allow_blank=True)
    usecase_setting = AnyJSONField(required=False, allow_null=True)
    multilingual = serializers.BooleanField(required=False, allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        fields = self.context.get("fields")
        return {key: value for key, value in data.items() if key in fields} if fields else data


# The one role an account has in its organization and project (their owner).
OWNER_ROLES = ["OWNER"]


class PlatformProjectMemberSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="The account's email.")
    role = serializers.ChoiceField(choices=OWNER_ROLES)


class PlatformProjectMembersSerializer(serializers.Serializer):
    members = PlatformProjectMemberSerializer(many=True)


class PlatformOrganizationMemberSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="The account's email.")
    email = serializers.CharField()
    role = serializers.ChoiceField(choices=OWNER_ROLES)


class PlatformOrganizationSerializer(serializers.Serializer):
    """The caller's one organization (its account's)."""

    org_id = serializers.CharField()
    name = serializers.CharField(help_text="The account's name, else its email ('admin' for the admin key).")
    created_at = serializers.DateTimeField(allow_null=True, help_text="When the account was made (null: admin key).")
    updated_at = serializers.DateTimeField(allow_null=True)
    members = PlatformOrganizationMemberSerializer(many=True)
    is_default = serializers.BooleanField()
    is_owner = serializers.BooleanField()
    user_role = serializers.ChoiceField(choices=OWNER_ROLES)


class PlatformOrganizationMemberIdSerializer(serializers.Serializer):
    user_id = serializers.CharField(help_text="The account's email.")
    role = serializers.ChoiceField(choices=OWNER_ROLES)


class PlatformOrganizationMembersSerializer(serializers.Serializer):
    members = PlatformOrganizationMemberIdSerializer(many=True)


class PlatformProjectUpdateSerializer(serializers.Serializer):
    custom_instructions = StrictCharField(required=False, allow_blank=True, max_length=MAX_INSTRUCTIONS)
    agent_custom_instructions = StrictCharField(required=False, allow_blank=True, max_length=MAX_INSTRUCTIONS)
    custom_categories = CategoriesField(required=False, allow_null=True)
    memory_depth = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=64, help_text="null clears it."
    )
    usecase_setting = AnyJSONField(required=False, allow_null=True)
    multilingual = serializers.BooleanField(required=False, allow_null=True)
    decay = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Memory Decay: only false (off, how search here always ranks) is accepted; true is a 400.",
        validators=[
            refuse_set(
                "Memory Decay is not available on this server: search ranks by meaning and keywords, never by how "
                "recently a memory was used. Leave decay out, or send false."
            )
        ],
    )
    # Python mem0ai 0.1.x, 1.0.x and 2.0.0's update_project() also take these (Mem0 has since dropped them). Off is
    # how this server works, so off is accepted; asking for them on is a 400 rather than a silent no.
    enable_graph = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Graph memory: only false is accepted; true is a 400.",
        validators=[
            refuse_set(
                "Graph memory is not available on this server: memories are found by meaning and keywords, not "
                "through an entity graph. Leave enable_graph out, or send false."
            )
        ],
    )
    retrieval_criteria = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        allow_null=True,
        allow_empty=True,
        help_text="Criteria retrieval: only an empty list (none) is accepted.",
        validators=[
            refuse_set(
                "Criteria retrieval is not available on this server: search ranks by meaning and keywords (and the "
                "configured reranker), not by weighted criteria. Leave retrieval_criteria out, or send []."
            )
        ],
    )
    # Sent by the SDKs beside the settings: the caller's own ids (checked by the view) and `version` (the
    # TypeScript client's, and alone from the older Python clients' update_project(version=...)).
    PASSED = ("org_id", "project_id", "version")
    OFF_ONLY = ("decay", "enable_graph", "retrieval_criteria")

    def validate(self, attrs):
        # A misspelt setting sent beside a right one must not be dropped while the answer says "updated".
        unknown_params_refuse(
            self.initial_data,
            [*self.fields, *self.PASSED],
            what="setting",
            takes=f"The project takes {', '.join(PROJECT_KEYS[2:])}; decay, enable_graph and retrieval_criteria "
            "only off.",
        )
        for name in self.OFF_ONLY:
            attrs.pop(name, None)  # off is the only setting, and nothing stores it
        if "memory_depth" in attrs and attrs["memory_depth"] is None:  # the TypeScript client types it string | null
            attrs["memory_depth"] = ""
        if not attrs and not {*self.OFF_ONLY, "version"} & set(self.initial_data):
            raise serializers.ValidationError(
                "Give at least one of custom_instructions, agent_custom_instructions, custom_categories, "
                "memory_depth, usecase_setting or multilingual."
            )
        return attrs


class PlatformProjectUpdatedSerializer(PlatformProjectSerializer):
    message = serializers.CharField()
