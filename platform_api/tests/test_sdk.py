"""The official Python SDK (`mem0ai`, pinned in requirements-dev.txt), unchanged, against a live server: only
`host=` differs from Mem0's hosted Platform. Every test asserts the data the SDK hands back to its user."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from importlib.metadata import version as package_version

import pytest
from mem0 import AsyncMemoryClient, MemoryClient
from mem0.exceptions import MemoryNotFoundError, ValidationError

from events.models import Event
from events.tests.helpers import sdk_wait_event
from memories import configuration
from memories.categories import DEFAULTS as DEFAULT_CATEGORIES
from memories.models import Memory
from memories.tests.fake_openai import as_json, error
from memories.tests.files import pdf_of
from platform_api import services
from requestlog.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_account(make_user):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def client(sdk, alice_account, worker) -> MemoryClient:
    return sdk(alice_account)


def added(client: MemoryClient, answer: dict) -> list[dict]:
    """The results of an add: the SDK's add is queued (an event id), and done by the session's worker process."""
    assert answer["status"] == "PENDING", answer
    event = sdk_wait_event(client, answer["event_id"])
    assert event["status"] == "SUCCEEDED", event
    return event["results"]


def add_plain(client: MemoryClient, text: str, user_id: str = "alice", **kwargs) -> str:
    answer = client.add(text, filters={"user_id": user_id}, infer=False, **kwargs)
    [result] = added(client, answer)
    assert (result["event"], result["memory"]) == ("ADD", text)
    return result["id"]


# --- constructing --------------------------------------------------------------------------------------------


def test_the_client_constructs_and_learns_its_organisation_and_project(client, alice_account):
    org_id, project_id = services.project_ids(principal=alice_account)
    assert (client.org_id, client.project_id) == (org_id, project_id)
    assert client.user_email == "alice@example.com"


def test_an_unknown_key_fails_in_the_constructor_with_our_message(server):
    with pytest.raises(ValueError, match="Invalid API key"):
        MemoryClient(api_key="m0sk_not-a-real-key", host=server)


# --- add -------------------------------------------------------------------------------------------------


def test_add_without_inference_stores_the_message_with_metadata_and_expiry(client):
    memory_id = add_plain(client, "Likes green tea", metadata={"topic": "drinks"}, expiration_date="2999-01-01")
    memory = client.get(memory_id)
    assert memory["memory"] == "Likes green tea"
    assert memory["user_id"] == "alice"
    assert memory["metadata"] == {"topic": "drinks"}
    assert memory["expiration_date"] == "2999-01-01"


@pytest.mark.parametrize("scope", [{"user_id": ".."}, {"agent_id": "."}, {"user_id": "alice", "run_id": ".."}])
def test_an_id_a_url_path_cannot_carry_is_refused_so_reset_can_always_delete_every_entity(client, scope):
    # httpx (and fetch) resolve "." and ".." in a path: delete_users(user_id="..") would reach /v2/entities/.
    for async_mode in (True, False):
        with pytest.raises(ValidationError, match='Must not be "." or ".."'):
            client.add("Stored under an odd id", filters=scope, infer=False, async_mode=async_mode)
    add_plain(client, "Likes tea")
    client.reset()
    assert client.get_all()["results"] == []


def test_add_with_inference_stores_the_facts_the_llm_extracts(client, llm_on):
    llm_on.facts = lambda messages: ["Is vegetarian", "Lives in Berlin"]
    answer = client.add(
        [{"role": "user", "content": "Hi, I'm a vegetarian from Berlin."}], filters={"user_id": "alice"}, infer=True
    )
    assert sorted((r["event"], r["memory"]) for r in added(client, answer)) == [
        ("ADD", "Is vegetarian"),
        ("ADD", "Lives in Berlin"),
    ]
    assert sorted(Memory.objects.filter(user_id="alice").values_list("text", flat=True)) == [
        "Is vegetarian",
        "Lives in Berlin",
    ]


def test_an_image_in_mem0s_multimodal_shape_is_remembered_by_what_it_shows(client, llm_on):
    # Mem0's multimodal add, as its docs write it: an image message by URL, and a local picture as base64.
    configuration.server_config_set(changes={"llm": {"config": {"enable_vision": True}}})
    photo = "https://example.com/sdk/veggie-pizza.jpg"
    inline = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP////////////////////////////////////////"
    messages = [
        {"role": "user", "content": "Hi, my name is Alice."},
        {"role": "assistant", "content": "Nice to meet you, Alice! What do you like to eat?"},
        {"role": "user", "content": {"type": "image_url", "image_url": {"url": photo}}},
        {"role": "user", "content": {"type": "image_url", "image_url": {"url": inline}}},
    ]
    results = added(client, client.add(messages, filters={"user_id": "alice"}))  # queued: the worker describes
    assert sorted(r["memory"] for r in results) == [
        "A picture of veggie pizza",
        "A picture sent inline",
        "Hi, my name is Alice.",
    ]
    assert sorted(llm_on.described()) == sorted([photo, inline])  # asked side by side
    [found] = client.search("pizza", filters={"user_id": "alice"}, top_k=1)["results"]
    assert found["memory"] == "A picture of veggie pizza"
    # Sent again to another process (the server, not the worker): the description made there is used.
    again = client.add(messages[2:3], filters={"user_id": "alice"}, infer=False, async_mode=False)
    assert [r["memory"] for r in again["results"]] == ["A picture of veggie pizza"]
    assert sorted(llm_on.described()) == sorted([photo, inline])  # asked side by side


def test_documents_in_mem0s_multimodal_shape_are_remembered_by_their_text(client):
    # Mem0's multimodal docs: a local text document sent in base64 as an mdx_url, and a PDF (here in base64 too).
    notes = "# Garden\n\nThe tomatoes go in the south bed, the basil beside them."
    lease = pdf_of("Lease of the flat on Rua Augusta", "The rent is 950 euros a month")
    messages = [
        {"role": "user", "content": {"type": "mdx_url", "mdx_url": {"url": base64.b64encode(notes.encode()).decode()}}},
        {"role": "user", "content": {"type": "pdf_url", "pdf_url": {"url": base64.b64encode(lease).decode()}}},
    ]
    results = added(client, client.add(messages, filters={"user_id": "alice"}))  # queued: the worker reads them
    lease_text = "Lease of the flat on Rua Augusta\n\nThe rent is 950 euros a month"
    assert [r["memory"] for r in results] == [notes, lease_text]
    [found] = client.search("How much is the rent?", filters={"user_id": "alice"}, top_k=1)["results"]
    assert found["memory"].endswith("950 euros a month")
    # A document by URL is read only on a host this server's operator named: the SDK's add raises our reason.
    by_url = {
        "type": "pdf_url",
        "pdf_url": {"url": "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"},
    }
    with pytest.raises(ValidationError, match="is on www.w3.org, a host this server does not fetch from"):
        client.add([{"role": "user", "content": by_url}], filters={"user_id": "alice"})


@pytest.mark.parametrize("async_mode", [True, False])
def test_deduced_memories_are_stored_as_given_one_memory_each_not_the_messages(client, async_mode):
    # OpenClaw's memory_add sends the facts its agent drew up beside the conversation they came from.
    answer = client.add(
        [{"role": "user", "content": "Likes green tea\nLives in Lisbon"}],
        filters={"user_id": "alice"},
        infer=False,
        deduced_memories=["Likes green tea", "Lives in Lisbon"],
        metadata={"category": "identity"},
        source="OPENCLAW",
        async_mode=async_mode,
    )
    results = added(client, answer) if async_mode else answer["results"]
    assert [(r["event"], r["memory"]) for r in results] == [("ADD", "Likes green tea"), ("ADD", "Lives in Lisbon")]
    listed = client.get_all(filters={"user_id": "alice"})["results"]
    assert sorted((m["memory"], m["metadata"]["category"]) for m in listed) == [
        ("Likes green tea", "identity"),
        ("Lives in Lisbon", "identity"),
    ]
    assert [m["memory"] for m in client.search("Which city?", filters={"user_id": "alice"}, top_k=1)["results"]] == [
        "Lives in Lisbon"
    ]


def test_with_inference_deduced_memories_skip_the_extraction_and_are_reconciled(client, llm_on):
    added(client, client.add("I eat meat.", filters={"user_id": "alice"}))  # extracted: "I eat meat."
    llm_on.decide = lambda stored, facts: [{"id": stored[0]["id"], "event": "UPDATE", "text": "Is vegetarian"}]
    answer = client.add("I gave up meat.", filters={"user_id": "alice"}, deduced_memories=["Is vegetarian"])
    assert [(r["event"], r["memory"]) for r in added(client, answer)] == [("UPDATE", "Is vegetarian")]
    assert len(llm_on.chat_calls("extract")) == 1  # the first add's only
    assert [m["memory"] for m in client.get_all(filters={"user_id": "alice"})["results"]] == ["Is vegetarian"]


def test_enable_graph_as_mem0s_graph_memory_guide_passes_it_is_taken_and_changes_nothing(client):
    add_plain(client, "Lives in Lisbon")
    found = client.search("Where does the user live?", filters={"user_id": "alice"}, enable_graph=True)
    listed = client.get_all(filters={"user_id": "alice"}, enable_graph=True)
    assert [m["memory"] for m in found["results"]] == ["Lives in Lisbon"] == [m["memory"] for m in listed["results"]]


def test_the_request_log_names_the_sdk_that_called(client):
    client.search("tea", filters={"user_id": "alice"})
    row = RequestLog.objects.filter(path="/v3/memories/search/").latest("id")
    assert row.client == f"mem0-python/{package_version('mem0ai')}"


def test_project_custom_instructions_reach_the_extraction_prompt(client, llm_on):
    client.update_project(custom_instructions="Only extract food preferences.")
    assert client.get_project(fields=["custom_instructions"]) == {
        "custom_instructions": "Only extract food preferences."
    }
    added(client, client.add("I love sushi and I work at a bank.", filters={"user_id": "alice"}))
    system = llm_on.chat_calls("extract")[0].body["messages"][0]["content"]
    assert system.startswith("Only extract food preferences.")


def test_instructions_given_with_an_add_win_over_the_projects(client, llm_on):
    client.update_project(custom_instructions="Project instructions.")
    added(client, client.add("I love sushi.", filters={"user_id": "alice"}, custom_instructions="Just this once."))
    assert llm_on.chat_calls("extract")[0].body["messages"][0]["content"].startswith("Just this once.")


def test_includes_and_excludes_tell_the_extraction_what_to_keep_and_what_to_leave_out(client, llm_on):
    client.update_project(custom_instructions="Project instructions.")
    added(client, client.add("I love sushi and I work at a bank.", filters={"user_id": "alice"}, includes="food"))
    added(client, client.add("I love ramen and I work at a bank.", filters={"user_id": "alice"}, excludes="work"))
    first, second = (call.body["messages"][0]["content"] for call in llm_on.chat_calls("extract"))
    assert first.startswith("Project instructions.") and "Write down only facts about: food" in first
    assert "Leave out anything about: work" in second and "only facts about" not in second


@pytest.mark.parametrize("async_mode", [True, False])
def test_an_add_option_the_server_does_not_take_is_refused_naming_it_and_nothing_is_stored(client, async_mode):
    # The SDK sends add's keyword arguments as they are: a misspelt metadata was dropped and the memory stored bare.
    with pytest.raises(ValidationError, match="metdata.*add takes"):
        client.add("Likes tea", filters={"user_id": "alice"}, infer=False, async_mode=async_mode, metdata={"a": 1})
    # What this server cannot keep its promise on is refused too, saying so: stored, it would be mutable, free text
    # and extracted by our prompt after all.
    for option, message in [
        ({"immutable": True}, "immutable"),
        ({"structured_data_schema": {"type": "object"}}, "structured_data_schema"),
        ({"prompt_profile_id": "profile-1"}, "prompt profiles"),
    ]:
        with pytest.raises(ValidationError, match=message):
            client.add("Likes tea", filters={"user_id": "alice"}, infer=False, async_mode=async_mode, **option)
    assert client.get_all(filters={"user_id": "alice"})["results"] == []
    # What older clients send and what changes nothing here is taken.
    taken = {"immutable": False, "enable_graph": True, "temporal_reasoning": True, "api_version": "v2"}
    answer = client.add("Likes tea", filters={"user_id": "alice"}, infer=False, async_mode=async_mode, **taken)
    [result] = answer["results"] if not async_mode else added(client, answer)
    assert result["memory"] == "Likes tea"


@pytest.mark.parametrize("async_mode", [True, False])
def test_metadata_larger_than_a_memory_keeps_is_refused_before_anything_is_queued(client, async_mode):
    # Every memory of an add carries its metadata, and every list and search answer returns it: 900 KB of it on
    # 100 messages stored 86 MB in 27 s, and a page of those 100 memories was an 85 MB answer.
    metadata = {f"key{i:05d}": f"value-{i:05d}" for i in range(3000)}  # 72 KB as JSON
    with pytest.raises(ValidationError, match=r"metadata holds \d+ bytes.*METADATA_MAX_BYTES"):
        client.add("Likes tea", filters={"user_id": "alice"}, infer=False, async_mode=async_mode, metadata=metadata)
    assert not Event.objects.exists()
    assert client.get_all(filters={"user_id": "alice"})["results"] == []


def test_crewais_add_and_search_arguments_are_all_taken(client):
    # CrewAI's Mem0 storage calls the SDK with these keyword arguments (crewai/memory/storage/mem0_storage.py; its
    # search's top-level user_id is left out: this SDK refuses it before sending).
    answer = client.add(
        [{"role": "assistant", "content": "Prefers window seats"}],
        metadata={"type": "long_term"},
        infer=False,
        includes="travel",
        excludes="work",
        output_format="v1.1",
        version="v2",
        user_id="alice",
        agent_id="Travel_Planner",
    )
    [result] = added(client, answer)
    found = client.search(
        query="window seat",
        limit=5,
        version="v2",
        output_format="v1.1",
        metadata={"type": "long_term"},
        filters={"OR": [{"user_id": "alice"}, {"agent_id": "Travel_Planner"}]},
        threshold=0.1,
    )
    assert [hit["id"] for hit in found["results"]] == [result["id"]]


def test_observation_date_or_time_dates_the_memory_in_the_timezone_given(client, llm_on):
    llm_on.facts = lambda messages: ["Went to a sushi class"]
    added(
        client,
        client.add(
            "I went to a sushi class yesterday.",
            filters={"user_id": "alice"},
            observation_date="2024-05-01",
            timezone="Asia/Tokyo",
        ),
    )
    [memory] = client.get_all(filters={"user_id": "alice"})["results"]
    assert memory["timestamp"] == "2024-04-30T15:00:00Z"  # midnight in Tokyo
    # The extraction reads "yesterday" against the day it was said there, not the UTC date.
    assert "written on 2024-05-01" in llm_on.chat_calls("extract")[0].body["messages"][0]["content"]
    memory_id = add_plain(client, "Ran 10 km", observation_datetime="2024-06-02T07:30:00", timezone="Europe/Berlin")
    assert client.get(memory_id)["timestamp"] == "2024-06-02T05:30:00Z"
    for options, message in [
        ({"observation_date": "2024-05-01", "timestamp": 1714521600}, "one of timestamp"),
        ({"observation_date": "2024-05-01", "timezone": "Mars/Olympus"}, "timezone"),
        ({"observation_datetime": "yesterday"}, "observation_datetime"),
    ]:
        with pytest.raises(ValidationError, match=message):
            client.add("Ran 5 km", filters={"user_id": "alice"}, infer=False, **options)
    assert len(client.get_all(filters={"user_id": "alice"})["results"]) == 2


# --- categories -----------------------------------------------------------------------------------------------


def categories_of(client: MemoryClient, user_id: str = "alice") -> dict[str, list[str]]:
    return {m["memory"]: m["categories"] for m in client.get_all(filters={"user_id": user_id})["results"]}


def test_inferred_memories_are_tagged_from_the_default_categories(client, llm_on):
    llm_on.facts = lambda messages: ["Loves sushi", "Plays tennis on Sundays"]
    llm_on.categorize = lambda catalog, texts: [
        ["food"] if "sushi" in text else ["Sports", "hobbies", "not-a-category"] for text in texts
    ]
    added(client, client.add("I love sushi, and I play tennis every Sunday.", filters={"user_id": "alice"}))
    assert categories_of(client) == {"Loves sushi": ["food"], "Plays tennis on Sundays": ["sports", "hobbies"]}
    [call] = llm_on.chat_calls("categorize")
    catalog = json.loads(call.body["messages"][-1]["content"])["categories"]
    assert [entry["name"] for entry in catalog] == list(DEFAULT_CATEGORIES)


def test_the_projects_custom_categories_replace_the_defaults(client, llm_on):
    client.update_project(custom_categories=[{"beverages": "coffee, tea and other drinks"}, "work"])
    llm_on.facts = lambda messages: ["Drinks green tea every morning"]
    llm_on.categorize = lambda catalog, texts: [["Beverages", "food"] for _ in texts]  # food: not the project's
    added(client, client.add("I drink green tea every morning.", filters={"user_id": "alice"}))
    assert categories_of(client) == {"Drinks green tea every morning": ["beverages"]}
    catalog = json.loads(llm_on.chat_calls("categorize")[0].body["messages"][-1]["content"])["categories"]
    assert catalog == [{"name": "beverages", "description": "coffee, tea and other drinks"}, {"name": "work"}]


def test_an_adds_own_custom_categories_replace_the_projects_for_that_add(client, llm_on):
    client.update_project(custom_categories=["work"])
    llm_on.facts = lambda messages: ["Drinks green tea every morning"]
    llm_on.categorize = lambda catalog, texts: [["drinks", "work"] for _ in texts]  # work: not this add's
    added(client, client.add("I drink green tea.", filters={"user_id": "alice"}, custom_categories=["drinks"]))
    assert categories_of(client) == {"Drinks green tea every morning": ["drinks"]}
    [call] = llm_on.chat_calls("categorize")
    assert [entry["name"] for entry in json.loads(call.body["messages"][-1]["content"])["categories"]] == ["drinks"]


def test_an_update_is_tagged_again_and_a_plain_add_has_no_categories(client, llm_on):
    llm_on.facts = lambda messages: ["Lives in Berlin"]
    llm_on.categorize = lambda catalog, texts: [["personal_details"] for _ in texts]
    added(client, client.add("I live in Berlin.", filters={"user_id": "alice"}))
    llm_on.facts = lambda messages: ["Moved to Lisbon for a new job"]
    llm_on.decide = lambda stored, facts: [{"event": "UPDATE", "id": "0", "text": "Lives in Lisbon for a new job"}]
    llm_on.categorize = lambda catalog, texts: [["personal_details", "professional_details"] for _ in texts]
    added(client, client.add("I moved to Lisbon for a new job.", filters={"user_id": "alice"}))
    add_plain(client, "Stored as given")
    assert categories_of(client) == {
        "Lives in Lisbon for a new job": ["personal_details", "professional_details"],
        "Stored as given": [],
    }
    asked = [json.loads(call.body["messages"][-1]["content"])["memories"] for call in llm_on.chat_calls("categorize")]
    # The second add's fact beside its decision, then the text it reworded; none for the add without inference.
    assert sorted(asked) == [["Lives in Berlin"], ["Lives in Lisbon for a new job"], ["Moved to Lisbon for a new job"]]


def test_a_failing_categorisation_stores_the_memories_without_categories(client, llm_on):
    llm_on.chat_queue.extend([as_json({"facts": ["Loves sushi"]}), error(400, "categories are not for today")])
    [result] = added(client, client.add("I love sushi.", filters={"user_id": "alice"}))
    assert (result["event"], result["memory"]) == ("ADD", "Loves sushi")
    assert categories_of(client) == {"Loves sushi": []}


def test_filters_find_memories_by_category(client, llm_on):
    llm_on.facts = lambda messages: ["Loves sushi", "Plays tennis on Sundays", "Works at a bank"]
    llm_on.categorize = lambda catalog, texts: [
        {"Loves sushi": ["food"], "Plays tennis on Sundays": ["sports", "hobbies"]}.get(text, []) for text in texts
    ]
    added(client, client.add("Sushi, tennis on Sundays, and a job at a bank.", filters={"user_id": "alice"}))

    def listed(condition) -> list[str]:
        found = client.get_all(filters={"AND": [{"user_id": "alice"}, condition]})["results"]
        return sorted(m["memory"] for m in found)

    assert listed({"categories": {"contains": "food"}}) == ["Loves sushi"]
    assert listed({"categories": "hobbies"}) == ["Plays tennis on Sundays"]
    assert listed({"categories": {"in": ["food", "sports"]}}) == ["Loves sushi", "Plays tennis on Sundays"]
    assert listed({"categories": {"nin": ["food", "sports"]}}) == ["Works at a bank"]
    assert listed({"categories": "*"}) == ["Loves sushi", "Plays tennis on Sundays"]
    sports = {"AND": [{"user_id": "alice"}, {"categories": "sports"}]}
    sport = client.search("what does she like", filters=sports, threshold=0)
    assert [m["memory"] for m in sport["results"]] == ["Plays tennis on Sundays"]
    with pytest.raises(ValidationError, match="filters.categories takes eq, contains, ne, in, nin, not gt"):
        client.get_all(filters={"AND": [{"user_id": "alice"}, {"categories": {"gt": "food"}}]})


def test_the_categories_option_of_get_all_and_search_keeps_memories_of_those_categories(client, llm_on):
    llm_on.facts = lambda messages: ["Loves sushi", "Plays tennis on Sundays", "Works at a bank"]
    llm_on.categorize = lambda catalog, texts: [
        {"Loves sushi": ["food"], "Plays tennis on Sundays": ["sports", "hobbies"]}.get(text, []) for text in texts
    ]
    added(client, client.add("Sushi, tennis on Sundays, and a job at a bank.", filters={"user_id": "alice"}))
    alice = {"user_id": "alice"}

    def listed(**options) -> list[str]:
        return sorted(m["memory"] for m in client.get_all(filters=alice, **options)["results"])

    def found(**options) -> list[str]:
        return sorted(m["memory"] for m in client.search("what", filters=alice, threshold=0, **options)["results"])

    assert listed(categories=["food"]) == found(categories=["food"]) == ["Loves sushi"]
    both = ["Loves sushi", "Plays tennis on Sundays"]
    assert listed(categories=["food", "hobbies"]) == found(categories=["food", "hobbies"]) == both
    assert client.get_all(filters=alice, categories=["travel"]) == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert len(listed(categories=[])) == len(found(categories=[])) == 3  # nothing to filter by
    with pytest.raises(ValidationError, match="categories"):
        client.get_all(filters=alice, categories="food")


def test_search_results_carry_categories_and_timestamp_as_get_does(client, llm_on):
    llm_on.facts = lambda messages: ["Loves sushi"]
    llm_on.categorize = lambda catalog, texts: [["food"] for _ in texts]
    [result] = added(client, client.add("I love sushi.", filters={"user_id": "alice"}, timestamp=1683546961))

    [hit] = client.search("sushi", filters={"user_id": "alice"}, threshold=0)["results"]
    stored = client.get(result["id"])
    assert (hit["categories"], hit["timestamp"]) == (["food"], "2023-05-08T11:56:01Z")
    assert {key: value for key, value in hit.items() if key != "score"} == stored

    slim = client.search("sushi", filters={"user_id": "alice"}, fields=["memory", "categories", "timestamp"])
    [slim] = slim["results"]
    assert slim == {"memory": "Loves sushi", "categories": ["food"], "timestamp": "2023-05-08T11:56:01Z"}


def test_search_reads_the_querys_time_from_the_sdks_reference_date(client):
    """Mem0's temporal reasoning: "last week" is the week before reference_date, and its memory comes first."""
    for city, when in (("Paris", 1742464800), ("Tokyo", 1741773600), ("Lisbon", 1717322400)):  # Mar 20, Mar 12 2025
        add_plain(client, f"Met Maya at the Orion conference in {city}.", timestamp=when)  # and Jun 2 2024
    question = "Which city did I meet Maya in at the Orion conference last week?"
    for reference, city in (("2025-03-21", "Tokyo"), (1742515200 + 86400 * 7, "Paris")):  # Mar 21 and Mar 28
        [first, *_] = client.search(question, filters={"user_id": "alice"}, reference_date=reference)["results"]
        assert city in first["memory"]
    with pytest.raises(ValidationError, match="reference_date"):
        client.search(question, filters={"user_id": "alice"}, reference_date="the week before")


def test_latest_only_is_accepted_as_every_memory_is_its_latest_version(client):
    add_plain(client, "Drinks green tea")
    alice = {"user_id": "alice"}
    assert client.get_all(filters=alice, latest_only=True)["results"] == client.get_all(filters=alice)["results"]
    found = client.search("tea", filters=alice, latest_only=True)["results"]
    assert [hit["memory"] for hit in found] == ["Drinks green tea"]


def test_get_project_and_update_project_round_trip_every_setting(client):
    client.update_project(
        custom_instructions="Be brief.",
        custom_categories=[{"travel": "trips and hotels"}],
        memory_depth="deep",
        multilingual=True,
        agent_custom_instructions="Agents: remember tools.",
    )
    project = client.get_project()
    assert project["custom_instructions"] == "Be brief."
    assert project["custom_categories"] == [{"travel": "trips and hotels"}]
    assert project["memory_depth"] == "deep"
    assert project["multilingual"] is True
    assert project["agent_custom_instructions"] == "Agents: remember tools."
    assert (project["org_id"], project["project_id"]) == (client.org_id, client.project_id)


def test_memory_decay_is_refused_by_name_and_a_misspelt_setting_is_not_dropped(client):
    client.project.update(custom_instructions="Be brief.")
    with pytest.raises(ValidationError, match="Memory Decay is not available"):
        client.project.update(decay=True)
    with pytest.raises(ValidationError, match="Memory Decay is not available"):
        client.project.update(decay=True, custom_instructions="Be verbose.")
    assert client.project.get()["custom_instructions"] == "Be brief."

    # Off is how search here always ranks: accepted alone and beside a setting.
    assert client.project.update(decay=False)["custom_instructions"] == "Be brief."
    assert client.project.update(decay=False, multilingual=True)["multilingual"] is True

    path = f"/api/v1/orgs/organizations/{client.org_id}/projects/{client.project_id}/"
    typo = client.client.patch(path, json={"custom_instructions": "Be verbose.", "custom_categorie": ["work"]})
    assert typo.status_code == 400 and "custom_categorie" in typo.json()["detail"]
    assert client.project.get()["custom_instructions"] == "Be brief."


def test_the_projects_one_member_is_its_account_and_what_a_project_here_cannot_do_says_why(client):
    assert client.project.get_members() == {"members": [{"username": "alice@example.com", "role": "OWNER"}]}
    # Each account is one project here: no members to add or remove, no second project, none to delete. Each was a
    # 404 or 405 that the SDK reported as a missing memory or an HTTP error naming no reason.
    for call in (
        lambda: client.project.add_member("bob@example.com"),
        lambda: client.project.update_member("alice@example.com", "READER"),
        lambda: client.project.remove_member("alice@example.com"),
    ):
        with pytest.raises(ValidationError, match="one member, their account.*Users page"):
            call()
    with pytest.raises(ValidationError, match="one project, its own.*another account"):
        client.project.create("Second project")
    add_plain(client, "Likes tea")
    with pytest.raises(ValidationError, match="not deleted.*reset"):
        client.project.delete()
    assert [m["memory"] for m in client.get_all(filters={"user_id": "alice"})["results"]] == ["Likes tea"]
    assert client.project.get_members()["members"] == [{"username": "alice@example.com", "role": "OWNER"}]


# --- get_all -------------------------------------------------------------------------------------------------


def test_get_all_filters_with_and_or_and_operators_and_pages(client):
    for i in range(5):
        add_plain(client, f"Food fact {i}", metadata={"topic": "food", "rank": i})
    add_plain(client, "Sport fact", metadata={"topic": "sport"})
    add_plain(client, "Bob's food fact", user_id="bob", metadata={"topic": "food"})

    food = {"AND": [{"user_id": "alice"}, {"topic": "food"}]}
    first = client.get_all(filters=food, page=1, page_size=2)
    assert first["count"] == 5
    assert [m["memory"] for m in first["results"]] == ["Food fact 4", "Food fact 3"]  # newest first
    assert "page=2" in first["next"] and first["previous"] is None
    last = client.get_all(filters=food, page=3, page_size=2)
    assert [m["memory"] for m in last["results"]] == ["Food fact 0"]
    assert last["next"] is None and "page=2" in last["previous"]

    ranked = client.get_all(filters={"AND": [{"user_id": "alice"}, {"rank": {"gte": 3}}]})
    assert sorted(m["memory"] for m in ranked["results"]) == ["Food fact 3", "Food fact 4"]
    either = client.get_all(filters={"OR": [{"topic": "sport"}, {"user_id": "bob"}]})
    assert sorted(m["memory"] for m in either["results"]) == ["Bob's food fact", "Sport fact"]
    not_food = client.get_all(filters={"user_id": "alice", "NOT": [{"topic": "food"}]})
    assert [m["memory"] for m in not_food["results"]] == ["Sport fact"]


def test_mem0s_keywords_memory_ids_and_metadata_filter_fields_work_through_the_sdk(client):
    tea = add_plain(client, "Drinks green tea", metadata={"topic": "drinks"})
    coffee = add_plain(client, "Drinks black coffee", metadata={"topic": "drinks"})
    add_plain(client, "Plays the cello", metadata={"topic": "music"})

    def listed(condition) -> list[str]:
        found = client.get_all(filters={"AND": [{"user_id": "alice"}, condition]})["results"]
        return sorted(m["memory"] for m in found)

    assert listed({"keywords": {"icontains": "DRINKS"}}) == ["Drinks black coffee", "Drinks green tea"]
    assert listed({"memory_ids": [tea]}) == ["Drinks green tea"]
    assert listed({"memory_ids": {"in": [tea, coffee]}, "keywords": {"contains": "tea"}}) == ["Drinks green tea"]
    assert listed({"metadata": {"topic": "music"}}) == ["Plays the cello"]
    hits = client.search("beverage", filters={"AND": [{"user_id": "alice"}, {"keywords": {"contains": "coffee"}}]})
    assert [h["memory"] for h in hits["results"]] == ["Drinks black coffee"]
    with pytest.raises(ValidationError, match="filters.memory_ids"):
        listed({"memory_ids": ["not-an-id"]})

    client.delete_all(filters={"user_id": "alice", "memory_ids": [coffee]})
    assert listed({"metadata": {"topic": "drinks"}}) == ["Drinks green tea"]


def test_a_page_or_search_holding_more_than_one_answer_carries_raises_saying_to_ask_for_fewer(client, settings):
    for i in range(3):
        add_plain(client, f"Garden note {i} " + "x" * 24)  # 38 bytes
    settings.LIST_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="These 3 memories hold 114 bytes.*LIST_MAX_BYTES"):
        client.get_all(filters={"user_id": "alice"}, page=1, page_size=3)
    with pytest.raises(ValidationError, match="These 3 results hold 114 bytes.*LIST_MAX_BYTES"):
        client.search("garden note", filters={"user_id": "alice"}, top_k=3, threshold=0)
    assert len(client.get_all(filters={"user_id": "alice"}, page=1, page_size=2)["results"]) == 2
    assert len(client.search("garden note", filters={"user_id": "alice"}, top_k=2, threshold=0)["results"]) == 2


def test_get_all_keeps_memories_created_between_start_date_and_end_date(client):
    old, new = add_plain(client, "Moved to Oslo"), add_plain(client, "Moved to Lisbon")
    Memory.objects.filter(id=old).update(created_at=datetime(2024, 3, 1, 12, tzinfo=UTC))
    Memory.objects.filter(id=new).update(created_at=datetime(2024, 7, 20, 23, 30, tzinfo=UTC))
    alice = {"user_id": "alice"}
    assert [m["memory"] for m in client.get_all(filters=alice, start_date="2024-07-01")["results"]] == [
        "Moved to Lisbon"
    ]
    # A bare end date includes that whole day.
    assert [m["memory"] for m in client.get_all(filters=alice, end_date="2024-07-20")["results"]] == [
        "Moved to Lisbon",
        "Moved to Oslo",
    ]
    assert client.get_all(filters=alice, start_date="2024-04-01", end_date="2024-06-30")["results"] == []
    # Ten digits of unix seconds are a moment, not a date: 23:00 that day leaves out Lisbon (23:30).
    eleven_pm = str(int(datetime(2024, 7, 20, 23, tzinfo=UTC).timestamp()))
    assert [m["memory"] for m in client.get_all(filters=alice, end_date=eleven_pm)["results"]] == ["Moved to Oslo"]
    assert [m["memory"] for m in client.get_all(filters=alice, start_date=eleven_pm)["results"]] == ["Moved to Lisbon"]
    with pytest.raises(ValidationError, match="start_date"):
        client.get_all(filters=alice, start_date="last tuesday")


def test_an_unknown_filter_operator_is_the_sdks_validation_error_naming_it(client):
    with pytest.raises(ValidationError, match="regex"):
        client.get_all(filters={"user_id": "alice", "topic": {"regex": "f.*"}})


# --- search --------------------------------------------------------------------------------------------------


def test_search_finds_by_meaning_within_filters_threshold_and_top_k(client):
    add_plain(client, "Loves spicy Thai curry", metadata={"topic": "food"})
    add_plain(client, "Plays tennis on Sundays", metadata={"topic": "sport"})
    add_plain(client, "Enjoys Indian curry dishes", metadata={"topic": "food"})
    add_plain(client, "Hates curry", user_id="bob")

    hits = client.search("curry", filters={"user_id": "alice"}, top_k=2)["results"]
    assert sorted(h["memory"] for h in hits) == ["Enjoys Indian curry dishes", "Loves spicy Thai curry"]
    assert hits[0]["score"] >= hits[1]["score"] > 0

    sport = client.search("curry", filters={"AND": [{"user_id": "alice"}, {"topic": "sport"}]}, threshold=0)
    assert [h["memory"] for h in sport["results"]] == ["Plays tennis on Sundays"]
    assert client.search("curry", filters={"user_id": "alice"}, threshold=0.99)["results"] == []

    slim = client.search("tennis", filters={"user_id": "alice"}, top_k=1, fields=["memory", "score"], rerank=True)
    [hit] = slim["results"]
    assert set(hit) == {"memory", "score"} and hit["memory"] == "Plays tennis on Sundays"


def test_the_metadata_option_of_search_keeps_memories_with_that_metadata(client):
    add_plain(client, "Loves spicy Thai curry", metadata={"topic": "food"})
    add_plain(client, "Curry night with the tennis club", metadata={"topic": "sport"})
    hits = client.search("curry", filters={"user_id": "alice"}, metadata={"topic": "sport"}, threshold=0)
    assert [h["memory"] for h in hits["results"]] == ["Curry night with the tennis club"]
    with pytest.raises(ValidationError, match="Unknown filter operator 'like' on 'topic'"):
        client.search("curry", filters={"user_id": "alice"}, metadata={"topic": {"like": "s%"}})


def test_a_search_without_a_scope_is_the_sdks_validation_error(client):
    with pytest.raises(ValidationError, match="scope"):
        client.search("anything", filters={"topic": "food"})
    # An OR is a scope only if every branch names one.
    with pytest.raises(ValidationError, match="every branch of an OR"):
        client.search("anything", filters={"OR": [{"user_id": "alice"}, {"topic": "food"}]})


@pytest.mark.parametrize(
    "filters",
    [
        {"OR": [{"user_id": "alice"}, {"user_id": "bob"}]},
        {"user_id": {"in": ["alice", "bob"]}},
        {"AND": [{"OR": [{"user_id": "alice"}, {"agent_id": "bob-bot"}]}, {"topic": "food"}]},
    ],
)
def test_a_search_may_span_several_scopes_as_mem0s_filters_allow(client, sdk, make_user, filters):
    add_plain(client, "Loves spicy Thai curry", metadata={"topic": "food"})
    add_plain(client, "Makes a green curry every Friday", user_id="bob", metadata={"topic": "food"})
    [bot] = added(client, client.add("Recommends curry houses", filters={"agent_id": "bob-bot"}, infer=False))
    add_plain(client, "Hates curry", user_id="carol", metadata={"topic": "food"})
    # Another account's memories under the same ids stay its own.
    add_plain(sdk(make_user("mallory@example.com")), "Mallory's curry", user_id="bob", metadata={"topic": "food"})
    expected = {"Loves spicy Thai curry"} | (
        {"Recommends curry houses"} if "AND" in filters else {"Makes a green curry every Friday"}
    )
    if "AND" in filters:
        client.update(bot["id"], metadata={"topic": "food"})
    hits = client.search("curry", filters=filters, threshold=0)["results"]
    assert {hit["memory"] for hit in hits} == expected


def test_a_search_answers_as_many_results_as_top_k_asks_beyond_the_candidate_depth(sdk, alice_account):
    client = sdk(alice_account)
    facts = [{"role": "user", "content": f"Fact {n} of the archive"} for n in range(150)]
    client.add(facts, filters={"user_id": "alice"}, infer=False, async_mode=False)
    # No word of the query is in a memory: only the meaning side finds them, each scoring above 0.
    hits = client.search("zyxwv qwrtp", filters={"user_id": "alice"}, top_k=150, threshold=0)["results"]
    assert len(hits) == 150
    assert len({hit["id"] for hit in hits}) == 150
    assert len(client.search("zyxwv qwrtp", filters={"user_id": "alice"}, top_k=120, threshold=0)["results"]) == 120


def test_a_search_query_over_max_query_chars_is_the_sdks_validation_error(client, settings):
    with pytest.raises(ValidationError, match="MAX_QUERY_CHARS"):
        client.search("tea " * (settings.MAX_QUERY_CHARS // 4 + 1), filters={"user_id": "alice"})


# --- get, update, history, delete ------------------------------------------------------------------------------


def test_update_changes_the_memory_and_history_records_each_change(client):
    memory_id = add_plain(client, "Lives in Paris")
    updated = client.update(memory_id, text="Lives in Lyon", metadata={"moved": True})
    assert (updated["id"], updated["memory"], updated["metadata"]) == (memory_id, "Lives in Lyon", {"moved": True})
    assert client.get(memory_id)["memory"] == "Lives in Lyon"
    history = client.history(memory_id)
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "Lives in Paris"),
        ("UPDATE", "Lives in Paris", "Lives in Lyon"),
    ]
    # Mem0's API reference requires user_id and input in each event (h["user_id"] was a KeyError); its run id is
    # session_id there. The messages are not kept: input is [].
    scope = [(h["user_id"], h["agent_id"], h["app_id"], h["session_id"], h["input"]) for h in history]
    assert scope == [("alice", None, None, None, [])] * 2


def test_update_moves_when_a_memory_happened_and_embeds_it_with_its_new_day(client, embedder):
    memory_id = add_plain(client, "Went hiking", timestamp=1683546961)  # 2023-05-08
    assert client.update(memory_id, timestamp=1700000000)["timestamp"] == "2023-11-14T22:13:20Z"
    stored = Memory.objects.get(id=memory_id)
    assert list(stored.embedding) == pytest.approx(embedder.embed(["[2023-11-14] Went hiking"])[0], abs=1e-4)
    dated = {"AND": [{"user_id": "alice"}, {"timestamp": {"gte": "2023-11-01"}}]}
    assert [m["memory"] for m in client.get_all(filters=dated)["results"]] == ["Went hiking"]

    # The SDK types timestamp as int, float or str: unix seconds with a fraction, and ISO 8601, are both taken.
    assert client.update(memory_id, timestamp=1700000000.5)["timestamp"] == "2023-11-14T22:13:20.500000Z"
    assert client.update(memory_id, timestamp="2024-02-29T08:00:00+01:00")["timestamp"] == "2024-02-29T07:00:00Z"
    assert client.get(memory_id)["memory"] == "Went hiking"
    with pytest.raises(ValidationError, match="timestamp"):
        client.update(memory_id, timestamp="soon")


def test_update_can_clear_the_expiration_date(client):
    memory_id = add_plain(client, "Temporary", expiration_date="2999-01-01")
    assert client.update(memory_id, expiration_date=None)["expiration_date"] is None


def test_delete_removes_the_memory_and_leaves_its_history(client):
    memory_id = add_plain(client, "Owns a cat")
    assert client.delete(memory_id) == {"message": "Memory deleted successfully!"}
    with pytest.raises(MemoryNotFoundError):
        client.get(memory_id)
    # History does not keep the scope: once the memory is gone, its events have none.
    assert [(h["event"], h["user_id"]) for h in client.history(memory_id)] == [("ADD", None), ("DELETE", None)]


def test_delete_all_removes_the_scope_given_top_level_or_in_filters(client):
    add_plain(client, "Alice one")
    add_plain(client, "Bob one", user_id="bob")
    add_plain(client, "Carol one", user_id="carol")
    assert client.delete_all(user_id="bob")["deleted"] == 1
    assert client.delete_all(filters={"user_id": "carol"})["message"] == "Memories deleted successfully!"
    assert [m["memory"] for m in client.get_all()["results"]] == ["Alice one"]


def test_delete_all_without_a_scope_is_the_sdks_validation_error_and_deletes_nothing(client):
    add_plain(client, "Stays")
    with pytest.raises(ValidationError, match="scope"):
        client.delete_all()
    # A scope id in camelCase is named, as search names it (it said only that a scope was needed).
    with pytest.raises(ValidationError, match="filters.userId: write user_id"):
        client.delete_all(filters={"userId": "alice"})
    assert client.get_all()["count"] == 1


# --- tenancy ---------------------------------------------------------------------------------------------------


def test_another_accounts_memory_is_not_found_through_the_sdk(client, sdk, make_user):
    memory_id = add_plain(client, "Alice's secret")
    mallory = sdk(make_user("mallory@example.com"))
    assert mallory.org_id != client.org_id
    for call in (
        lambda: mallory.get(memory_id),
        lambda: mallory.update(memory_id, text="hacked"),
        lambda: mallory.delete(memory_id),
        lambda: mallory.history(memory_id),
    ):
        with pytest.raises(MemoryNotFoundError):
            call()
    assert mallory.get_all(filters={"user_id": "alice"})["count"] == 0
    assert mallory.search("secret", filters={"user_id": "alice"}, threshold=0)["results"] == []
    assert mallory.delete_all(user_id="alice")["deleted"] == 0
    assert client.get(memory_id)["memory"] == "Alice's secret"


def test_each_account_has_its_own_project_settings(client, sdk, make_user):
    client.update_project(custom_instructions="Alice's rules.")
    other = sdk(make_user("other@example.com"))
    assert other.get_project(fields=["custom_instructions"]) == {"custom_instructions": ""}


# --- the asynchronous client ---------------------------------------------------------------------------------


def test_the_async_client_adds_lists_searches_updates_and_deletes(server, sdk_key, alice_account, client):
    key = sdk_key(alice_account)

    async def scenario():
        async with AsyncMemoryClient(api_key=key, host=server) as aclient:
            queued = await aclient.add("Drinks oat milk", filters={"user_id": "alice"}, infer=False)
            results = await asyncio.to_thread(added, client, queued)  # polled with the sync client's key
            memory_id = results[0]["id"]
            listed = await aclient.get_all(filters={"user_id": "alice"}, page=1, page_size=10)
            found = await aclient.search("milk", filters={"user_id": "alice"}, top_k=1)
            updated = await aclient.update(memory_id, text="Drinks soy milk")
            history = await aclient.history(memory_id)
            deleted = await aclient.delete(memory_id)
            remaining = await aclient.get_all(filters={"user_id": "alice"})
            return results, listed, found, updated, history, deleted, remaining

    results, listed, found, updated, history, deleted, remaining = asyncio.run(scenario())
    assert results[0]["memory"] == "Drinks oat milk"
    assert listed["count"] == 1 and listed["results"][0]["memory"] == "Drinks oat milk"
    assert found["results"][0]["memory"] == "Drinks oat milk"
    assert updated["memory"] == "Drinks soy milk"
    assert [h["event"] for h in history] == ["ADD", "UPDATE"]
    assert deleted["message"] == "Memory deleted successfully!"
    assert remaining == {"count": 0, "next": None, "previous": None, "results": []}
