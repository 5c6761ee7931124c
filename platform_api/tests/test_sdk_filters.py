"""Mem0's filter language and get_all options as its docs write them, sent by the official Python SDK (`mem0ai`)
to a live server: what the SDK's user gets back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from mem0 import MemoryClient
from mem0.exceptions import ValidationError

from memories.models import Memory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_account(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def client(sdk, alice_account) -> MemoryClient:
    return sdk(alice_account)


@pytest.fixture
def remember(make_memory, alice_account):
    """Store one of alice's memories (as the account's own, without the queue) and return its id."""

    def make(text: str, **kwargs) -> str:
        return make_memory(text, principal=alice_account, **kwargs)

    return make


def listed(client: MemoryClient, *conditions: dict, **options) -> list[str]:
    """The texts get_all answers for alice's memories meeting every condition, newest first."""
    answer = client.get_all(filters={"AND": [{"user_id": "alice"}, *conditions]}, **options)
    return [memory["memory"] for memory in answer["results"]]


# --- NOT ----------------------------------------------------------------------------------------------------


def test_not_takes_one_filter_object_as_mem0s_docs_write_it(client, remember):
    remember("Likes spam", metadata={"topic": "spam"})
    remember("Likes tea", metadata={"topic": "drinks"})
    remember("Plays chess", metadata={"topic": "games"})

    assert listed(client, {"NOT": {"topic": "spam"}}) == ["Plays chess", "Likes tea"]
    assert listed(client, {"NOT": {"OR": [{"topic": "spam"}, {"topic": "games"}]}}) == ["Likes tea"]
    assert listed(client, {"NOT": {"topic": "spam"}}) == listed(client, {"NOT": [{"topic": "spam"}]})
    hits = client.search("a drink", filters={"user_id": "alice", "NOT": {"topic": {"in": ["spam", "games"]}}})
    assert [hit["memory"] for hit in hits["results"]] == ["Likes tea"]


def test_the_wildcard_on_a_metadata_key_skips_memories_whose_value_there_is_null(client, remember):
    # Mem0's docs: "*" matches any non-null value, records with null for that field are excluded (as on the
    # scope id columns here). A key stored as null (Python code passing None) matched it as if it had a value.
    remember("Has a project", metadata={"project": "apollo"})
    remember("Project unset", metadata={"project": None})
    remember("No project key", metadata={"topic": "misc"})

    assert listed(client, {"project": "*"}) == ["Has a project"]
    assert listed(client, {"metadata": {"project": "*"}}) == ["Has a project"]
    assert listed(client, {"NOT": {"project": "*"}}) == ["No project key", "Project unset"]
    hits = client.search("project", filters={"user_id": "alice", "project": "*"}, threshold=0)
    assert [hit["memory"] for hit in hits["results"]] == ["Has a project"]


# --- time fields ----------------------------------------------------------------------------------------------

# Each time field of the filters and the column it reads.
TIME_FIELDS = {"created_at": "created_at", "updated_at": "updated_at", "timestamp": "occurred_at"}


@pytest.fixture
def around_july_first(remember):
    """Three of alice's memories, the field's column set to just before, during and just after 2024-07-01 (UTC)."""

    def make(field: str) -> None:
        for text, moment in [
            ("June's last second", datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC)),
            ("July 1st, afternoon", datetime(2024, 7, 1, 15, tzinfo=UTC)),
            ("July 2nd, midnight", datetime(2024, 7, 2, tzinfo=UTC)),
        ]:
            Memory.objects.filter(id=remember(text)).update(**{TIME_FIELDS[field]: moment})

    return make


@pytest.mark.parametrize("field", TIME_FIELDS)
def test_a_bare_date_on_a_time_field_means_that_whole_utc_day(client, around_july_first, field):
    around_july_first(field)
    june, first, second = "June's last second", "July 1st, afternoon", "July 2nd, midnight"
    day = "2024-07-01"

    assert listed(client, {field: day}) == [first]
    assert listed(client, {field: {"ne": day}}) == [second, june]
    assert listed(client, {field: {"lte": day}}) == [first, june]
    assert listed(client, {field: {"lt": day}}) == [june]
    assert listed(client, {field: {"gte": day}}) == [second, first]
    assert listed(client, {field: {"gt": day}}) == [second]
    # Mem0's own example: July, both ends included.
    assert listed(client, {field: {"gte": "2024-07-01", "lte": "2024-07-31"}}) == [second, first]
    # A time is still that moment.
    assert listed(client, {field: {"lte": "2024-07-01T00:00:00Z"}}) == [june]
    hits = client.search("July", filters={"user_id": "alice", field: {"lte": day}}, threshold=0)
    assert sorted(hit["memory"] for hit in hits["results"]) == [first, june]


@pytest.mark.parametrize("field", TIME_FIELDS)
def test_in_on_a_time_field_keeps_memories_of_any_of_those_days_or_moments(client, around_july_first, field):
    around_july_first(field)
    june, first, second = "June's last second", "July 1st, afternoon", "July 2nd, midnight"

    assert listed(client, {field: {"in": ["2024-07-01", "2024-07-02"]}}) == [second, first]
    assert listed(client, {field: {"in": ["2024-06-30T23:59:59Z", "2024-07-02"]}}) == [second, june]
    assert listed(client, {field: {"in": [int(datetime(2024, 7, 2, tzinfo=UTC).timestamp())]}}) == [second]
    assert listed(client, {field: {"nin": ["2024-07-01"]}}) == [second, june]
    assert listed(client, {field: {"in": []}}) == []
    with pytest.raises(ValidationError, match=f"filters.{field}.in"):
        listed(client, {field: {"in": "2024-07-01"}})
    with pytest.raises(ValidationError, match=f"filters.{field}.in"):
        listed(client, {field: {"in": ["2024-07-01", "soon"]}})


# --- expiration_date ------------------------------------------------------------------------------------------


def test_filters_on_expiration_date_compare_the_memorys_expiry_day(client, remember):
    remember("Trip plan", expiration_date=date(2090, 1, 1))
    remember("Coupon", expiration_date=date(2091, 6, 30))
    remember("Forever")
    remember("Old promo", expiration_date=date(2001, 1, 1))

    assert listed(client, {"expiration_date": {"lte": "2090-12-31"}}) == ["Trip plan"]
    assert listed(client, {"expiration_date": {"lte": "2090-12-31"}}, show_expired=True) == ["Old promo", "Trip plan"]
    assert listed(client, {"expiration_date": {"lt": "2090-01-01"}}, show_expired=True) == ["Old promo"]
    assert listed(client, {"expiration_date": {"gt": "2090-01-01"}}) == ["Coupon"]
    assert listed(client, {"expiration_date": {"gte": "2090-01-01"}}) == ["Coupon", "Trip plan"]
    assert listed(client, {"expiration_date": "2091-06-30"}) == ["Coupon"]
    assert listed(client, {"expiration_date": {"eq": "2091-06-30"}}) == ["Coupon"]
    assert listed(client, {"expiration_date": {"ne": "2090-01-01"}}) == ["Forever", "Coupon"]
    assert listed(client, {"expiration_date": {"in": ["2090-01-01", "2091-06-30"]}}) == ["Coupon", "Trip plan"]
    assert listed(client, {"expiration_date": {"nin": ["2090-01-01"]}}) == ["Forever", "Coupon"]
    assert listed(client, {"expiration_date": "*"}) == ["Coupon", "Trip plan"]
    assert listed(client, {"NOT": {"expiration_date": "*"}}) == ["Forever"]
    hits = client.search("coupon", filters={"user_id": "alice", "expiration_date": {"gte": "2091-01-01"}})
    assert [hit["memory"] for hit in hits["results"]] == ["Coupon"]


@pytest.mark.parametrize(
    ("condition", "says"),
    [
        ({"lte": "soon"}, "filters.expiration_date.lte"),
        ({"lte": "2090-01-01T10:00:00Z"}, "filters.expiration_date.lte"),  # a day, not a moment
        ({"gt": 1_700_000_000}, "filters.expiration_date.gt"),
        ({"in": "2090-01-01"}, "filters.expiration_date.in"),
        ({"contains": "2090"}, "filters.expiration_date"),
    ],
)
def test_a_bad_expiration_date_filter_is_the_sdks_validation_error_naming_it(client, condition, says):
    with pytest.raises(ValidationError, match=says):
        listed(client, {"expiration_date": condition})


# --- get_all's keywords and other options ---------------------------------------------------------------------


def test_get_all_keywords_keeps_memories_whose_text_holds_them(client, remember):
    remember("Drinks green tea", metadata={"topic": "drinks"})
    remember("Drinks black coffee", metadata={"topic": "drinks"})
    remember("Teaches the cello", metadata={"topic": "music"})

    assert listed(client, keywords="TEA") == ["Teaches the cello", "Drinks green tea"]
    assert listed(client, keywords="green tea") == ["Drinks green tea"]
    assert listed(client, {"metadata": {"topic": "drinks"}}, keywords="tea") == ["Drinks green tea"]
    # get_all's metadata option, as search's: conditions the memories must also meet.
    assert listed(client, metadata={"topic": "drinks"}) == ["Drinks black coffee", "Drinks green tea"]
    with pytest.raises(ValidationError, match="keywords"):
        listed(client, keywords=["tea"])


@pytest.mark.parametrize("option", [{"top_k": 1}, {"page_sise": 1}, {"query": "tea"}, {"rerank": True}])
def test_a_get_all_option_the_server_would_ignore_is_the_sdks_validation_error(client, remember, option):
    """Each of these answered every memory, as if it had been applied."""
    remember("Drinks green tea")
    remember("Drinks black coffee")
    [name] = option
    with pytest.raises(ValidationError, match=f"Unknown field.*{name}.*takes filters"):
        listed(client, **option)


@pytest.mark.parametrize("option", [{"top_kk": 1}, {"page": 2}, {"keywords": "coffee"}])
def test_a_search_option_the_server_would_ignore_is_the_sdks_validation_error(client, remember, option):
    """Each of these answered ten results of every memory, as if it had been applied (the SDK passes any keyword
    argument on in the body)."""
    remember("Drinks green tea")
    remember("Drinks black coffee")
    [name] = option
    with pytest.raises(ValidationError, match=f"Unknown field.*{name}.*search takes query, filters"):
        client.search("a drink", filters={"user_id": "alice"}, **option)
    # What the TypeScript client sends beside the options (source) still searches.
    assert len(client.search("a drink", filters={"user_id": "alice"}, source="OPENCLAW")["results"]) == 2


def test_search_takes_limit_as_top_k_as_the_open_source_api_does(client, remember):
    """limit (the open-source API's name, in code written for both) was ignored: ten results came back."""
    remember("Drinks green tea")
    remember("Drinks black coffee")
    assert len(client.search("a drink", filters={"user_id": "alice"}, limit=1)["results"]) == 1
    assert len(client.search("a drink", filters={"user_id": "alice"}, limit=1, top_k=1)["results"]) == 1
    with pytest.raises(ValidationError, match="limit.*Differs from top_k"):
        client.search("a drink", filters={"user_id": "alice"}, limit=1, top_k=2)


# --- get_all's fields -----------------------------------------------------------------------------------------


def test_get_all_fields_answers_only_those_fields_of_each_memory(client, remember):
    tea = remember("Drinks green tea", metadata={"topic": "drinks"})
    coffee = remember("Drinks black coffee")

    page = client.get_all(filters={"user_id": "alice"}, fields=["id", "memory"], page=1, page_size=10)
    assert page["results"] == [
        {"id": coffee, "memory": "Drinks black coffee"},
        {"id": tea, "memory": "Drinks green tea"},
    ]
    assert page["count"] == 2
    [only] = client.get_all(filters={"user_id": "alice"}, fields=["metadata"], keywords="tea")["results"]
    assert only == {"metadata": {"topic": "drinks"}}
    every = client.get_all(filters={"user_id": "alice"}, fields=[])["results"][0]
    assert {"id", "memory", "created_at", "expiration_date", "categories"} <= set(every)


def test_an_unknown_get_all_field_name_is_the_sdks_validation_error_naming_it(client, remember):
    remember("Drinks green tea")
    with pytest.raises(ValidationError, match="session_idd.*choose from id, memory"):
        client.get_all(filters={"user_id": "alice"}, fields=["memory", "session_idd"])
    with pytest.raises(ValidationError, match="fields"):
        client.get_all(filters={"user_id": "alice"}, fields="memory")
