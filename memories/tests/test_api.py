"""The memory endpoints over HTTP: success paths, history, pagination and every client mistake."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from memories.configuration import server_config_set
from memories.models import DocumentText, ImageDescription, Memory, MemoryHistory
from memories.tests.fake_openai import FakeOpenAI


def add(client, messages, **body):
    body.setdefault("user_id", "alice")
    body.setdefault("infer", False)
    body = {key: value for key, value in body.items() if value is not None}  # user_id=None: no user_id
    return client.post("/memories", {"messages": messages, **body}, format="json")


def user(text: str) -> dict:
    return {"role": "user", "content": text}


# --- add -------------------------------------------------------------------------------------------


def test_add_stores_each_message_with_its_role(api_client):
    response = add(
        api_client,
        [user("Loves spicy Thai curry"), {"role": "assistant", "content": "Noted: Thai curry", "name": "bot"}],
        metadata={"topic": "food"},
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["memory"], r["event"], r["role"], r["actor_id"]) for r in results] == [
        ("Loves spicy Thai curry", "ADD", "user", None),
        ("Noted: Thai curry", "ADD", "assistant", "bot"),
    ]
    stored = Memory.objects.get(id=results[0]["id"])
    assert stored.user_id == "alice"
    assert stored.metadata == {"topic": "food"}


def test_add_accepts_a_plain_string_as_one_user_message(api_client):
    response = api_client.post("/memories", {"messages": "Works as a dentist", "agent_id": "bot"}, format="json")
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["memory"] == "Works as a dentist"
    assert Memory.objects.get(id=result["id"]).agent_id == "bot"


def test_add_skips_system_messages(api_client):
    response = add(api_client, [{"role": "system", "content": "You are helpful"}, user("Has a cat")])
    assert [r["memory"] for r in response.json()["results"]] == ["Has a cat"]


@pytest.mark.parametrize("field", ["user_id", "agent_id", "app_id", "run_id"])
def test_add_refuses_star_as_a_scope_id_since_filters_read_it_as_any_value(api_client, field, embedder):
    response = add(api_client, [user("x")], **{"user_id": None, field: "*"})
    assert response.status_code == 400, response.content
    assert response.json()["errors"].keys() == {field}
    assert '"*"' in response.json()["detail"]
    platform = api_client.post(
        "/v3/memories/add/", {"messages": "x", "filters": {field: "*"}, "async_mode": False}, format="json"
    )
    assert platform.status_code == 400, platform.content
    assert (
        f'Must not be "*": in filters "*" means any value, so it cannot name one {field}' in platform.json()["detail"]
    )
    assert not Memory.objects.exists()


def test_star_still_means_any_value_in_filters_and_is_refused_as_a_top_level_id(api_client, make_memory):
    make_memory("Plays chess")
    make_memory("Plays go", user_id="bob")
    listed = api_client.get("/memories", {"filters": '{"user_id": "*"}'}).json()["results"]
    assert sorted(m["memory"] for m in listed) == ["Plays chess", "Plays go"]
    response = api_client.post("/search", {"query": "star", "user_id": "*"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"].keys() == {"user_id"}
    assert '"*"' in response.json()["detail"] and "filters" in response.json()["detail"]


def test_add_of_only_system_messages_is_rejected(api_client):
    response = add(api_client, [{"role": "system", "content": "You are helpful"}])
    assert response.status_code == 400
    assert "system" in response.json()["detail"]


def test_add_ignores_identity_keys_in_metadata(api_client):
    response = add(api_client, [user("Likes tea")], metadata={"user_id": "mallory", "topic": "drinks"})
    stored = Memory.objects.get(id=response.json()["results"][0]["id"])
    assert stored.user_id == "alice"
    assert stored.metadata == {"topic": "drinks"}


def test_add_trims_scope_ids(api_client):
    response = add(api_client, [user("Likes tea")], user_id="  alice  ")
    assert Memory.objects.get(id=response.json()["results"][0]["id"]).user_id == "alice"


def test_add_writes_an_add_history_row(api_client):
    memory_id = add(api_client, [user("Plays the cello")]).json()["results"][0]["id"]
    history = api_client.get(f"/memories/{memory_id}/history").json()
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [("ADD", None, "Plays the cello")]


def test_infer_true_without_llm_stores_messages_but_skips_near_duplicates(api_client):
    first = add(api_client, [user("Loves spicy Thai curry")], infer=True).json()["results"]
    assert [r["event"] for r in first] == ["ADD"]
    again = add(api_client, [user("Loves spicy Thai curry"), user("Has two dogs")], infer=True).json()["results"]
    assert [(r["event"], r["memory"]) for r in again] == [("NONE", "Loves spicy Thai curry"), ("ADD", "Has two dogs")]
    assert again[0]["id"] == first[0]["id"]
    assert Memory.objects.filter(user_id="alice").count() == 2


def test_a_conversation_sent_again_is_not_embedded_again(api_client):
    # Pipecat sends the whole conversation so far with each turn: with an embedding API (paid per token) each turn
    # paid for every earlier message again, only to find it stored.
    with FakeOpenAI() as fake:
        embedder = {"model": "fake-embed", "api_key": "sk-test", "openai_base_url": fake.url, "embedding_dims": 64}
        server_config_set(changes={"embedder": {"provider": "openai", "config": embedder}})
        first = add(api_client, [user("I moved to Lisbon")], infer=True).json()["results"]
        fake.reset_calls()
        turn = [user("I moved to Lisbon"), {"role": "assistant", "content": "Lovely!"}, user("I play the cello")]
        again = add(api_client, turn, infer=True).json()["results"]
        embedded = [text for call in fake.embed_calls() for text in call.body["input"]]
        # Stored at another time, the same text is embedded (with its day) and compared as any other.
        fake.reset_calls()
        dated = add(api_client, [user("I moved to Lisbon")], infer=True, timestamp=1_700_000_000).json()["results"]
        embedded_dated = [text for call in fake.embed_calls() for text in call.body["input"]]
    assert [(r["event"], r["memory"]) for r in again] == [
        ("NONE", "I moved to Lisbon"),
        ("ADD", "Lovely!"),
        ("ADD", "I play the cello"),
    ]
    assert again[0]["id"] == first[0]["id"]
    assert "I moved to Lisbon" not in embedded and "I play the cello" in embedded
    assert any("I moved to Lisbon" in text for text in embedded_dated)
    assert [r["event"] for r in dated] == ["ADD"]
    assert Memory.objects.filter(user_id="alice").count() == 4


def test_a_near_duplicate_is_found_beside_many_twins_of_other_users(api_client, crowded):
    crowded("Loves spicy Thai curry")
    first = add(api_client, [user("Loves spicy Thai curry")], infer=True).json()["results"]
    again = add(api_client, [user("Loves spicy Thai curry")], infer=True).json()["results"]
    assert [(r["event"], r["id"]) for r in again] == [("NONE", first[0]["id"])]
    assert Memory.objects.filter(user_id="alice").count() == 1


def test_near_duplicates_in_another_scope_are_stored(api_client):
    add(api_client, [user("Loves spicy Thai curry")], infer=True)
    response = add(api_client, [user("Loves spicy Thai curry")], infer=True, user_id="bob")
    assert response.json()["results"][0]["event"] == "ADD"


def test_add_with_expiration_date_hides_the_memory_once_expired(api_client):
    add(api_client, [user("Is in Paris this week")], expiration_date="2020-01-01")
    add(api_client, [user("Lives in Berlin")], expiration_date="2999-01-01")
    listed = api_client.get("/memories", {"user_id": "alice"}).json()["results"]
    assert [m["memory"] for m in listed] == ["Lives in Berlin"]
    assert listed[0]["expiration_date"] == "2999-01-01"
    everything = api_client.get("/memories", {"user_id": "alice", "show_expired": "true"}).json()["results"]
    assert len(everything) == 2


def test_an_llms_context_is_stored_by_its_text_as_mem0_reads_it(api_client):
    # Frameworks send their LLM's context as it is: an assistant message carrying only tool calls has no content,
    # OpenAI's content parts hold the text, and its system message may be named developer. One such message
    # refused the whole add before.
    call = {"id": "call-1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        {"role": "developer", "content": "You are a helpful assistant."},  # OpenAI's newer name for system
        {
            "role": "user",
            "content": [{"type": "text", "text": "I moved to Lisbon."}, {"type": "text", "text": "Ask me."}],
        },
        {"role": "assistant", "tool_calls": [call]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "assistant", "content": "", "tool_calls": [call]},  # as some frameworks write it
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
        {"role": "user", "content": {"type": "text", "text": "I have a cat"}},
        {"role": "assistant", "content": "Noted."},
        {"role": "model", "content": "Cats are great."},  # Gemini's name for assistant
        {"role": "function", "name": "get_weather", "content": "Sunny, 21 C"},  # OpenAI's older name for tool
    ]
    response = api_client.post("/memories", {"messages": messages, "user_id": "alice", "infer": False}, format="json")
    assert response.status_code == 200, response.json()
    assert [(r["memory"], r["role"]) for r in response.json()["results"]] == [
        ("I moved to Lisbon. Ask me.", "user"),
        ("I have a cat", "user"),
        ("Noted.", "assistant"),
        ("Cats are great.", "assistant"),
        ("Sunny, 21 C", "tool"),
    ]
    # Nothing with text is nothing to store; a part or content of another shape is a 400 saying what it takes.
    for content, says in [
        ([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}], "with text"),
        (None, "with text"),
        (" ", "with text"),
        (5, "a list of content parts"),
        (["I moved"], 'Part 0 must be an object with a string "type"'),
        ([{"type": "text", "text": 5}], 'a "text" part, a string "text"'),
        ([{"type": "text", "text": "a\u0000b"}], "content"),
    ]:
        body = {"messages": [{"role": "user", "content": content}], "user_id": "alice"}
        refused = api_client.post("/memories", json.dumps(body), content_type="application/json")
        assert refused.status_code == 400 and says in refused.json()["detail"], (content, refused.json())
    assert Memory.objects.count() == 5


def test_null_for_an_optional_field_means_not_given_as_mem0s_server_takes_it(api_client, make_memory):
    # Mem0's server declares every optional field Optional[...] = None: a client generated from its OpenAPI, or
    # one writing None as null, sends null for what it leaves out. Each was a 400 ("may not be null").
    added = api_client.post(
        "/memories",
        {
            "messages": [user("I drink green tea every morning")],
            "user_id": "alice",
            **dict.fromkeys(("agent_id", "run_id", "metadata", "infer", "memory_type", "prompt", "expiration_date")),
        },
        format="json",
    )
    assert added.status_code == 200, added.json()
    assert [(r["memory"], r["event"]) for r in added.json()["results"]] == [("I drink green tea every morning", "ADD")]
    memory = Memory.objects.get()
    assert (memory.user_id, memory.agent_id, memory.expiration_date) == ("alice", None, None)
    found = api_client.post(
        "/search",
        {"query": "tea", "user_id": "alice", **dict.fromkeys(("agent_id", "run_id", "filters", "top_k", "threshold"))}
        | dict.fromkeys(("explain", "show_expired", "rerank", "reference_date")),
        format="json",
    )
    assert found.status_code == 200, found.json()
    assert [r["memory"] for r in found.json()["results"]] == ["I drink green tea every morning"]
    updated = api_client.put(f"/memories/{memory.id}", {"text": "I drink black tea", "metadata": None}, format="json")
    assert updated.status_code == 200, updated.json()
    assert Memory.objects.get().text == "I drink black tea"
    # Where null means something it still does (expiration_date: null clears it), and a required field stays required.
    refused = api_client.post("/search", {"query": None, "user_id": "alice"}, format="json")
    assert refused.status_code == 400 and "query" in refused.json()["errors"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, ["user_id", "agent_id", "run_id"]),
        ({"messages": [{"role": "user", "content": "x"}], "user_id": "   "}, ["user_id"]),
        ({"messages": [{"role": "user", "content": "x"}], "user_id": "al ice"}, ["user_id"]),
        ({"messages": [], "user_id": "alice"}, ["messages"]),
        ({"user_id": "alice"}, ["messages"]),
        ({"messages": 42, "user_id": "alice"}, ["messages"]),
        (
            {"messages": [{"role": "user"}], "user_id": "alice"},
            ["messages", "with text"],
        ),  # as an assistant's tool call
        ({"messages": [{"role": "wizard", "content": "x"}], "user_id": "alice"}, ["role"]),
        ({"messages": "x", "user_id": "alice", "metadata": [1, 2]}, ["metadata"]),
        ({"messages": "x", "user_id": "alice", "infer": "maybe"}, ["infer"]),
        ({"messages": "x", "user_id": "alice", "expiration_date": "tomorrow"}, ["expiration_date"]),
        ({"messages": "x", "user_id": "alice", "memory_type": "episodic"}, ["memory_type"]),
        ({"messages": "x", "user_id": "alice", "memory_type": "procedural_memory"}, ["agent_id"]),
        ({"messages": "x", "user_id": 7}, ["user_id"]),
        ({"messages": "x", "user_id": "alice", "metadata": {"k": "a\u0000b"}}, ["metadata"]),
        # JSON's "\ud800" decodes to a lone surrogate, which PostgreSQL cannot be sent.
        ({"messages": "x", "user_id": "alice", "metadata": {"k": "a\ud800b"}}, ["metadata", "surrogate"]),
        ({"messages": "x", "user_id": "alice", "metadata": {"\udfff": 1}}, ["metadata", "surrogate"]),
        # Quoted back by a choice field's message, a lone surrogate was a 500 when the answer was written.
        ({"messages": "x", "user_id": "alice", "memory_type": "\ud800"}, ["memory_type", "surrogate"]),
        ({"messages": [{"role": "\udc00", "content": "x"}], "user_id": "alice"}, ["messages[0].role", "surrogate"]),
        ({"messages": "a\u0000b", "user_id": "alice"}, ["content"]),
    ],
)
def test_add_rejects_bad_input_naming_the_field(api_client, body, names):
    # json.dumps escapes what DRF's test renderer cannot encode (a lone surrogate), as a real client would.
    response = api_client.post("/memories", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert all(name in detail for name in names), detail
    assert not Memory.objects.exists()


def test_a_character_written_as_a_surrogate_pair_is_stored_whole(api_client):
    body = '{"messages": "Likes \\ud83c\\udf75 tea", "user_id": "alice", "infer": false}'
    assert api_client.post("/memories", body, content_type="application/json").status_code == 200
    assert [m["memory"] for m in api_client.get("/memories", {"user_id": "alice"}).json()["results"]] == [
        "Likes \U0001f375 tea"
    ]


def test_malformed_json_is_a_400(api_client):
    response = api_client.post("/memories", '{"messages": "x", "user_id": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param("[" * 50_000 + "]" * 50_000, id="deeper-than-the-json-module-recurses"),
        pytest.param("[" * 40 + "]" * 40, id="parses-but-deeper-than-the-limit"),
    ],
)
def test_deeply_nested_json_is_a_400_not_a_recursion_error(api_client, messages):
    body = '{"messages": ' + messages + ', "user_id": "alice"}'
    response = api_client.post("/memories", body, content_type="application/json")
    assert response.status_code == 400
    assert "nest deeper than 32 levels" in response.json()["detail"]
    assert not Memory.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "body", "said"),
    [
        ("post", "/memories", '{"messages": "Hi", "user_id": "alice", "metadata": {"n": %s}}', "metadata.n"),
        (
            "post",
            "/v1/memories/",
            '{"messages": [{"role": "user", "content": "Hi"}], "user_id": "alice", "metadata": {"tags": [1, %s]}}',
            "metadata.tags[1]",
        ),
        ("post", "/memories", '{"messages": "Hi", "user_id": "alice", "infer": false, "limit": -%s}', "limit"),
        ("get", "/memories", {"user_id": "alice", "filters": '{"n": %s}'}, "filters: Must hold shorter numbers: n"),
    ],
)
def test_a_number_too_long_to_read_is_a_400_naming_where_it_is(api_client, method, path, body, said):
    # A million digits: Python's json module refused it in its own words ("use sys.set_int_max_str_digits() to
    # increase the limit"), advice to a programmer that named no field.
    number = "9" * 1_000_000
    if method == "get":
        response = api_client.get(path, {key: value.replace("%s", number) for key, value in body.items()})
    else:
        response = api_client.post(path, body.replace("%s", number), content_type="application/json")
    assert response.status_code == 400
    detail = json.dumps(response.json())
    assert f"{said} is a number of 1,000,000 digits; a number takes at most 4,300." in detail
    assert "sys.set_int_max_str_digits" not in detail
    assert not Memory.objects.exists()


def test_json_nested_32_levels_deep_is_accepted(api_client):
    metadata = {"a": 1}
    for _ in range(29):  # the body, metadata and these: 31 objects, one level to spare
        metadata = {"a": metadata}
    assert add(api_client, "Deep metadata", metadata=metadata).status_code == 200


def test_a_json_array_body_is_a_400(api_client):
    response = api_client.post("/memories", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_non_json_content_type_is_a_415(api_client):
    response = api_client.post("/memories", "messages=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


def test_oversized_body_is_a_413_and_stores_nothing(api_client, settings):
    settings.MAX_REQUEST_BYTES = 2000
    response = add(api_client, [user("x" * 5000)])
    assert response.status_code == 413
    assert "2000" in response.json()["detail"]
    assert not Memory.objects.exists()


# --- get / list --------------------------------------------------------------------------------------


def test_get_returns_the_memory_object(api_client, make_memory):
    memory_id = make_memory("Loves spicy Thai curry", metadata={"topic": "food"})
    response = api_client.get(f"/memories/{memory_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == memory_id
    assert body["memory"] == "Loves spicy Thai curry"
    assert body["metadata"] == {"topic": "food"}
    assert body["user_id"] == "alice"
    assert body["role"] == "user"
    assert body["created_at"] and body["updated_at"]


def test_hash_is_the_md5_of_the_text(api_client, make_memory):
    import hashlib

    memory_id = make_memory("Loves spicy Thai curry")
    expected = hashlib.md5(b"Loves spicy Thai curry", usedforsecurity=False).hexdigest()
    assert api_client.get(f"/memories/{memory_id}").json()["hash"] == expected


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_memory_id_is_a_404(api_client, method):
    memory_id = uuid.uuid4()
    response = getattr(api_client, method)(f"/memories/{memory_id}", {"text": "x"}, format="json")
    assert response.status_code == 404
    assert str(memory_id) in response.json()["detail"]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_non_uuid_memory_id_is_a_404_saying_what_ids_look_like(api_client, method):
    # As Mem0's own server, which answers 404 for a memory it does not find: clients of it take a 404 for "not
    # found" (Hermes Agent's plugin counts any other answer as the server failing: memories/tests/test_hermes.py).
    response = getattr(api_client, method)("/memories/not-a-uuid", {"text": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "'not-a-uuid' is not a valid memory id; memory ids are UUIDs."


def test_list_is_newest_first_and_scoped(api_client, make_memory):
    make_memory("first")
    make_memory("second")
    make_memory("bob's", user_id="bob")
    response = api_client.get("/memories", {"user_id": "alice"})
    assert response.status_code == 200
    assert [m["memory"] for m in response.json()["results"]] == ["second", "first"]


def test_list_without_scope_shows_everything_to_admin(api_client, make_memory):
    make_memory("a")
    make_memory("b", user_id="bob")
    assert len(api_client.get("/memories").json()["results"]) == 2


def test_list_scope_ids_are_anded(api_client, make_memory):
    make_memory("alice alone")
    make_memory("alice with bot", scope={"agent_id": "bot"})
    results = api_client.get("/memories", {"user_id": "alice", "agent_id": "bot"}).json()["results"]
    assert [m["memory"] for m in results] == ["alice with bot"]


def test_list_pages_by_cursor_without_gaps_or_repeats(api_client, make_memory):
    texts = [f"memory {i}" for i in range(7)]
    for text in texts:
        make_memory(text)
    seen, cursor = [], None
    while True:
        params = {"user_id": "alice", "top_k": 3, **({"cursor": cursor} if cursor else {})}
        body = api_client.get("/memories", params).json()
        seen += [m["memory"] for m in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(texts))


def test_list_pages_by_page_number(api_client, make_memory):
    for i in range(5):
        make_memory(f"memory {i}")
    first = api_client.get("/memories", {"user_id": "alice", "top_k": 2, "page": 1}).json()
    third = api_client.get("/memories", {"user_id": "alice", "top_k": 2, "page": 3}).json()
    assert [m["memory"] for m in first["results"]] == ["memory 4", "memory 3"]
    assert first["next_page"] == 2
    assert [m["memory"] for m in third["results"]] == ["memory 0"]
    assert third["next_page"] is None


def test_a_page_holding_more_than_one_answer_carries_is_refused_saying_to_ask_for_fewer(
    api_client, make_memory, settings
):
    # 1,000 memories of 100,000 characters made one 108 MB answer; each memory carries its metadata too.
    settings.LIST_MAX_BYTES = 100
    for i in range(3):
        make_memory(f"memory {i} " + "x" * 21, metadata={"k": "v" * 10})  # 30 bytes + 19 of metadata as JSON text
    refused = api_client.get("/memories", {"user_id": "alice", "top_k": 3})
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "These 3 memories hold 147 bytes" in detail and "LIST_MAX_BYTES" in detail and "fewer" in detail
    first = api_client.get("/memories", {"user_id": "alice", "top_k": 2}).json()
    assert len(first["results"]) == 2
    rest = api_client.get("/memories", {"user_id": "alice", "top_k": 3, "cursor": first["next_cursor"]}).json()
    assert [m["memory"][:8] for m in rest["results"]] == ["memory 0"]
    assert len(api_client.get("/memories", {"user_id": "alice", "top_k": 2, "page": 2}).json()["results"]) == 1


def test_a_list_of_top_k_0_has_no_next_page_for_a_client_to_follow_for_ever(api_client, make_memory):
    make_memory("memory 0")
    for page in (None, 1, 500):
        params = {"user_id": "alice", "top_k": 0} | ({"page": page} if page else {})
        body = api_client.get("/memories", params).json()
        assert body == {"results": [], "next_cursor": None, "next_page": None}


def test_list_with_metadata_filters(api_client, make_memory):
    make_memory("curry", metadata={"topic": "food"})
    make_memory("dentist", metadata={"topic": "work"})
    response = api_client.get("/memories", {"user_id": "alice", "filters": '{"topic": "food"}'})
    assert [m["memory"] for m in response.json()["results"]] == ["curry"]


def test_a_list_by_scope_ids_answers_as_the_same_list_by_an_equal_filter(member, member_client, make_memory):
    # A list whose scope and filters are scope ids runs SQL kept per process (selectors.memories_list); filters of
    # another kind are built for each request. Both must answer alike: pages, counts, expiry, another account.
    for i in range(5):
        make_memory(f"alice {i}", principal=member, expiration_date="2020-01-01" if i == 2 else None)
    make_memory("bob's", user_id="bob", principal=member)
    make_memory("another account's alice")
    for show_expired in ("false", "true"):
        for page in (1, 2, 3, 4):
            kept, built = (
                member_client.post(
                    "/v2/memories/",
                    {"filters": filters, "page": page, "page_size": 2, "show_expired": show_expired == "true"},
                    format="json",
                )
                for filters in ({"AND": [{"user_id": "alice"}]}, {"AND": [{"user_id": {"in": ["alice"]}}]})
            )
            assert kept.status_code == built.status_code == 200
            assert kept.json() == built.json()
            params = {"top_k": 2, "page": page, "show_expired": show_expired}
            kept, built = (
                member_client.get("/memories", {**params, **extra})
                for extra in ({"user_id": "alice"}, {"filters": '{"user_id": {"in": ["alice"]}}'})
            )
            assert kept.status_code == built.status_code == 200
            assert kept.json() == built.json()
    first = member_client.post("/v2/memories/", {"filters": {"user_id": "alice"}, "page_size": 3}, format="json")
    assert first.json()["count"] == 4
    assert [m["memory"] for m in first.json()["results"]] == ["alice 4", "alice 3", "alice 1"]
    make_memory("alice 5", principal=member)  # a kept page's SQL is run again: what it finds is today's
    again = member_client.post("/v2/memories/", {"filters": {"user_id": "alice"}, "page_size": 3}, format="json")
    assert again.json()["count"] == 5
    assert [m["memory"] for m in again.json()["results"]] == ["alice 5", "alice 4", "alice 3"]


@pytest.mark.parametrize("listening", [False, True], ids=["made-directly", "a-receiver-listens"])
def test_listed_memories_are_the_stored_memories_as_the_orm_loads_them(make_memory, listening):
    # A page is made without Model.__init__ (mem0server/rows.py, rows_loaded), unless a receiver listens to its signals.
    from conftest import ADMIN
    from memories import selectors
    from memories.tests.instances import post_init_heard

    for text, metadata in (("curry", {"topic": "food"}), ("dentist", {}), ("cello", {"nested": {"a": [1, 2]}})):
        make_memory(text, metadata=metadata, scope={"agent_id": "helper"}, expiration_date="2099-01-01")
    with post_init_heard(listening) as seen:
        page = selectors.memories_list(principal=ADMIN, scope={"user_id": "alice"}, top_k=2)
    assert [memory.text for memory in page.results] == ["cello", "dentist"]
    assert page.next_cursor and page.next_page == 2
    made = {id(memory) for memory in seen}  # the page's rows and the one more that says another page follows
    assert len(made) == (3 if listening else 0) and made >= (
        {id(memory) for memory in page.results} if listening else set()
    )
    deferred = {"embedding", "search_vector"}
    fields = [field.attname for field in Memory._meta.concrete_fields if field.attname not in deferred]
    for memory in page.results:
        stored = Memory.objects.get(id=memory.id)
        assert type(memory) is Memory and not memory._state.adding and memory._state.db == "default"
        assert memory.get_deferred_fields() == deferred
        assert [getattr(memory, name) for name in fields] == [getattr(stored, name) for name in fields]
        assert list(memory.embedding) == list(stored.embedding)  # a deferred field, read when asked for
    memory = page.results[0]
    assert memory.metadata == {"nested": {"a": [1, 2]}} and str(memory.expiration_date) == "2099-01-01"
    memory.text = "cello lessons"
    memory.save(update_fields=["text"])  # saved as a row the ORM loaded would be
    assert Memory.objects.get(id=memory.id).text == "cello lessons"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"top_k": "-1"}, "top_k"),
        ({"top_k": "1001"}, "top_k"),
        ({"top_k": "ten"}, "top_k"),
        ({"page": "0"}, "page"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
        ({"filters": "{not json"}, "filters"),
        ({"filters": "[1]"}, "filters"),
        ({"filters": '{"topic": {"regex": "x"}}'}, "regex"),
        ({"filters": '{"a": ' * 5000 + "1" + "}" * 5000}, "nest deeper"),  # was a RecursionError (500)
        ({"filters": '{"actor_id": {"contains": "\\ud800"}}'}, "surrogate"),  # was a 500
        ({"filters": '{"AND": [' * 20 + "{}" + "]}" * 20}, "nest deeper"),
        ({"show_expired": "perhaps"}, "show_expired"),
        ({"page": "1", "cursor": "abc"}, "page or cursor"),
    ],
)
def test_list_rejects_bad_parameters(api_client, params, field):
    response = api_client.get("/memories", {"user_id": "alice", **params})
    assert response.status_code == 400
    assert field in response.json()["detail"]


@pytest.mark.parametrize("page", ["1000001", "9223372036854775807"])
def test_a_page_number_past_the_cap_is_a_400_naming_page(api_client, make_memory, page):
    make_memory("Plays chess")
    response = api_client.get("/memories", {"user_id": "alice", "page": page})
    assert response.status_code == 400, response.content
    assert response.json()["errors"].keys() == {"page"}
    assert "1000000" in response.json()["detail"]
    assert api_client.get("/memories", {"user_id": "alice", "page": "1000000"}).json()["results"] == []


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "forged",
    [
        ["2024-01-01T00:00:00+00:00", 123],
        ["2024-01-01T00:00:00+00:00", ["a"]],
        ["2024-01-01T00:00:00+00:00", {"id": 1}],
        ["2024-01-01T00:00:00", str(uuid.uuid4())],  # no zone: never one this server wrote
        # Zones Python reads and PostgreSQL does not (beyond ±15:59:59, or in fractions of a second): each was
        # a DataError, a 400 naming no field.
        ["2024-01-01T00:00:00+16:00", str(uuid.uuid4())],
        ["2024-01-01T00:00:00+01:00:00.5", str(uuid.uuid4())],
    ],
)
def test_list_refuses_a_forged_cursor_with_a_400(api_client, make_memory, forged):
    make_memory("Plays chess")
    response = api_client.get("/memories", {"user_id": "alice", "cursor": _cursor(forged)})
    assert response.status_code == 400, response.content
    assert "cursor is not valid" in response.json()["detail"]


# --- update ---------------------------------------------------------------------------------------


def test_update_changes_text_re_embeds_and_records_history(api_client, make_memory):
    memory_id = make_memory("Loves spicy Thai curry")
    response = api_client.put(f"/memories/{memory_id}", {"text": "Hates anything spicy"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"message": "Memory updated successfully!"}
    assert api_client.get(f"/memories/{memory_id}").json()["memory"] == "Hates anything spicy"
    history = api_client.get(f"/memories/{memory_id}/history").json()
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "Loves spicy Thai curry"),
        ("UPDATE", "Loves spicy Thai curry", "Hates anything spicy"),
    ]
    # The new embedding is what search now matches.
    hits = api_client.post("/search", {"query": "dislikes spicy food", "user_id": "alice"}, format="json").json()
    assert hits["results"][0]["id"] == memory_id
    assert hits["results"][0]["memory"] == "Hates anything spicy"


def test_update_accepts_data_as_mem0_does(api_client, make_memory):
    memory_id = make_memory("old")
    assert api_client.put(f"/memories/{memory_id}", {"data": "new"}, format="json").status_code == 200
    assert Memory.objects.get(id=memory_id).text == "new"


def test_update_merges_metadata_and_ignores_identity_keys(api_client, make_memory):
    memory_id = make_memory("curry", metadata={"topic": "food", "rating": 3})
    body = {"metadata": {"rating": 5, "user_id": "mallory"}}
    assert api_client.put(f"/memories/{memory_id}", body, format="json").status_code == 200
    memory = Memory.objects.get(id=memory_id)
    assert memory.metadata == {"topic": "food", "rating": 5}
    assert memory.user_id == "alice"
    assert memory.text == "curry"


def json_bytes(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def test_metadata_larger_than_a_memory_keeps_is_refused_naming_it_and_nothing_is_stored(api_client, settings):
    settings.METADATA_MAX_BYTES = 100
    fits = {"note": "é" * 40}
    fits["pad"] = "x" * (100 - json_bytes(fits) - len(',"pad":""'))
    assert json_bytes(fits) == 100
    over = {**fits, "pad": fits["pad"] + "x"}

    refused = add(api_client, [user("Likes tea"), user("Likes coffee")], metadata=over)
    assert refused.status_code == 400
    assert refused.json()["errors"].keys() == {"metadata"}
    assert "101 bytes" in refused.json()["detail"] and "METADATA_MAX_BYTES" in refused.json()["detail"]
    assert not Memory.objects.exists()

    stored = add(api_client, [user("Likes tea")], metadata=fits)
    assert stored.status_code == 200
    assert Memory.objects.get().metadata == fits


def test_an_update_whose_merged_metadata_is_too_large_is_refused_and_changes_nothing(api_client, make_memory, settings):
    settings.METADATA_MAX_BYTES = 100
    memory_id = make_memory("curry", metadata={"topic": "x" * 50})
    body = {"text": "rice", "metadata": {"rating": "y" * 50}}
    refused = api_client.put(f"/memories/{memory_id}", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"].keys() == {"metadata"} and "METADATA_MAX_BYTES" in refused.json()["detail"]
    memory = Memory.objects.get(id=memory_id)
    assert (memory.text, memory.metadata) == ("curry", {"topic": "x" * 50})
    # A memory stored larger before the limit still takes changes that leave its metadata alone.
    Memory.objects.filter(id=memory_id).update(metadata={"topic": "x" * 500})
    assert api_client.put(f"/memories/{memory_id}", {"text": "rice"}, format="json").status_code == 200
    assert Memory.objects.get(id=memory_id).text == "rice"


def test_update_sets_and_clears_expiration(api_client, make_memory):
    memory_id = make_memory("in Paris")
    api_client.put(f"/memories/{memory_id}", {"expiration_date": "2999-12-31"}, format="json")
    assert api_client.get(f"/memories/{memory_id}").json()["expiration_date"] == "2999-12-31"
    api_client.put(f"/memories/{memory_id}", {"expiration_date": None}, format="json")
    assert api_client.get(f"/memories/{memory_id}").json()["expiration_date"] is None


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "at least one"),
        ({"text": ""}, "text"),
        ({"text": 5}, "text"),
        ({"metadata": "x"}, "metadata"),
        ({"text": "a", "data": "b"}, "text or data"),
        ({"expiration_date": "31/12/2999"}, "expiration_date"),
    ],
)
def test_update_rejects_bad_bodies_and_changes_nothing(api_client, make_memory, body, says):
    memory_id = make_memory("unchanged")
    response = api_client.put(f"/memories/{memory_id}", body, format="json")
    assert response.status_code == 400
    assert says in response.json()["detail"]
    assert Memory.objects.get(id=memory_id).text == "unchanged"
    assert MemoryHistory.objects.filter(memory_id=memory_id).count() == 1


# --- delete -----------------------------------------------------------------------------------------


def test_delete_removes_the_memory_but_keeps_its_history(api_client, make_memory):
    memory_id = make_memory("Plays chess")
    response = api_client.delete(f"/memories/{memory_id}")
    assert response.status_code == 200
    assert response.json() == {"message": "Memory deleted successfully"}
    assert api_client.get(f"/memories/{memory_id}").status_code == 404
    history = api_client.get(f"/memories/{memory_id}/history").json()
    assert [(h["event"], h["old_memory"], h["new_memory"], h["is_deleted"]) for h in history] == [
        ("ADD", None, "Plays chess", False),
        ("DELETE", "Plays chess", None, True),
    ]
    assert api_client.delete(f"/memories/{memory_id}").status_code == 404


def test_delete_by_scope_deletes_only_matching_memories(api_client, make_memory):
    alice = make_memory("alice 1")
    make_memory("alice with bot", scope={"agent_id": "bot"})
    bob = make_memory("bob 1", user_id="bob")
    response = api_client.delete("/memories?user_id=alice&agent_id=bot")
    assert response.status_code == 200
    assert response.json() == {"message": "All relevant memories deleted"}
    assert set(Memory.objects.values_list("id", flat=True)) == {uuid.UUID(alice), uuid.UUID(bob)}
    api_client.delete("/memories?user_id=alice")
    assert list(Memory.objects.values_list("id", flat=True)) == [uuid.UUID(bob)]
    assert MemoryHistory.objects.filter(memory_id=alice, event="DELETE").count() == 1


def test_delete_by_scope_needs_a_scope(api_client, make_memory):
    make_memory("kept")
    response = api_client.delete("/memories")
    assert response.status_code == 400
    assert "user_id" in response.json()["detail"]
    assert Memory.objects.count() == 1


@pytest.mark.parametrize(
    "query",
    ['user_id=dl&filters={"topic":"food"}', "user_id=dl&topic=food", "user_id=dl&memory_id=x&userid=y"],
)
def test_delete_by_scope_refuses_a_parameter_it_does_not_take_and_deletes_nothing(api_client, make_memory, query):
    """A filter it would ignore must not widen the delete to the whole scope."""
    make_memory("Likes ramen", user_id="dl", metadata={"topic": "food"})
    make_memory("Plays chess", user_id="dl", metadata={"topic": "games"})
    response = api_client.delete(f"/memories?{query}")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "Unknown query parameter" in detail
    unknown = [part.split("=")[0] for part in query.split("&")[1:]]
    assert all(name in detail for name in unknown)
    assert "DELETE /v1/memories/" in detail  # where filters are taken
    assert len(api_client.get("/memories", {"user_id": "dl"}).json()["results"]) == 2


def test_delete_by_scope_refuses_a_scope_id_given_twice_and_deletes_nothing(api_client, make_memory):
    """Only the last value was read: user_id=dl&user_id=bo deleted bo's memories."""
    make_memory("Likes ramen", user_id="dl")
    make_memory("Plays chess", user_id="bo")
    response = api_client.delete("/memories?user_id=dl&user_id=bo")
    assert response.status_code == 400
    assert "user_id: Given 2 times; give it once." in response.json()["detail"]
    assert Memory.objects.count() == 2


def test_reset_refuses_parameters_and_deletes_nothing(api_client, make_memory):
    """`POST /reset?user_id=bob` must not wipe every account's memories."""
    make_memory("alice's")
    make_memory("bob's", user_id="bob")
    response = api_client.post("/reset?user_id=bob")
    assert response.status_code == 400
    assert "user_id" in response.json()["detail"]
    response = api_client.post("/reset", {"user_id": "bob"}, format="json")
    assert response.status_code == 400
    assert "user_id" in response.json()["detail"]
    assert Memory.objects.count() == 2
    assert api_client.post("/reset").status_code == 200
    assert Memory.objects.count() == 0


# --- history ----------------------------------------------------------------------------------------


def test_history_of_an_id_never_seen_is_a_404(api_client):
    assert api_client.get(f"/memories/{uuid.uuid4()}/history").status_code == 404


def test_history_of_a_non_uuid_is_a_404(api_client):
    assert api_client.get("/memories/123/history").status_code == 404


def test_history_rows_have_the_mem0_fields(api_client, make_memory):
    memory_id = make_memory("x")
    [row] = api_client.get(f"/memories/{memory_id}/history").json()
    assert set(row) == {
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
    }
    assert row["memory_id"] == memory_id


def test_a_history_too_long_for_one_answer_is_a_400_and_reads_page_by_page(api_client, make_memory, settings):
    # Each update keeps the old and the new text (up to 100,000 characters each): a memory rewritten a few hundred
    # times made one answer of hundreds of megabytes, built whole in the worker's memory.
    settings.HISTORY_MAX_CHARS = 100
    memory_id = make_memory("Version 0 of a memory that keeps changing")
    for version in range(1, 6):
        changed = api_client.put(f"/memories/{memory_id}", {"text": f"Version {version}"}, format="json")
        assert changed.status_code == 200
    whole = api_client.get(f"/memories/{memory_id}/history")
    assert whole.status_code == 400
    assert "HISTORY_MAX_CHARS" in whole.json()["detail"] and "page=1&page_size=" in whole.json()["detail"]
    pages = [api_client.get(f"/memories/{memory_id}/history?page={n}&page_size=4") for n in (1, 2, 3)]
    assert [page.status_code for page in pages] == [200, 200, 200]
    read = [row["id"] for page in pages for row in page.json()]
    stored = MemoryHistory.objects.filter(memory_id=memory_id).order_by("created_at", "id")
    assert read == [str(row.id) for row in stored] and len(read) == 6  # oldest first, each once
    assert pages[2].json() == []
    # Each page but the last names the next, as the entities list does: the body stays a bare list.
    assert [page.get("X-Next-Page") for page in pages] == ["2", None, None]
    assert pages[0]["Link"] == f'</memories/{memory_id}/history?page=2&page_size=4>; rel="next"'
    followed, link = [], f"/memories/{memory_id}/history?page=1&page_size=2"
    while link:
        page = api_client.get(link)
        followed += [row["id"] for row in page.json()]
        link = page["Link"][1 : page["Link"].index(">")] if "Link" in page else None
    assert followed == read
    for query in ("page=0", "page_size=51", "page=1&page_size=x", "pgae=2"):
        response = api_client.get(f"/memories/{memory_id}/history?{query}")
        assert response.status_code == 400, query
    settings.HISTORY_MAX_CHARS = 10_000
    assert len(api_client.get(f"/memories/{memory_id}/history").json()) == 6


def test_a_history_of_many_short_events_answered_whole_holds_at_most_history_max_chars(
    api_client, make_memory, settings
):
    # The limit counted the texts alone: 100,000 events of a few characters each (a memory updated at every turn, or
    # a backup's history imported) made one answer of 26 MB, built in 4 s and 186 MB of the worker's memory.
    memory_id = make_memory("v")
    MemoryHistory.objects.bulk_create(
        MemoryHistory(memory_id=memory_id, old_memory="v", new_memory="v", event="UPDATE") for _ in range(199)
    )
    settings.HISTORY_MAX_CHARS = 20_000
    whole = api_client.get(f"/memories/{memory_id}/history")
    assert whole.status_code == 400
    assert "200 events" in whole.json()["detail"] and "HISTORY_MAX_CHARS, 20000" in whole.json()["detail"]
    assert len(api_client.get(f"/memories/{memory_id}/history?page=4&page_size=50").json()) == 50
    settings.HISTORY_MAX_CHARS = 60_000
    whole = api_client.get(f"/memories/{memory_id}/history")
    assert whole.status_code == 200 and len(whole.json()) == 200
    assert len(whole.content.decode()) <= settings.HISTORY_MAX_CHARS


# --- reset ------------------------------------------------------------------------------------------


def test_reset_deletes_every_memory_and_all_history(api_client, make_memory):
    make_memory("a")
    make_memory("b", user_id="bob")
    # The texts kept for an image or a document sent again are copies of what the memories hold: they went on.
    rent = base64.b64encode(b"Rent,950").decode()
    lease = {"type": "txt_url", "txt_url": {"url": f"data:text/csv;base64,{rent}"}}
    assert add(api_client, [{"role": "user", "content": [lease]}]).status_code == 200
    ImageDescription.objects.create(key="k" * 64, text="A picture of the flat")
    assert DocumentText.objects.exists()
    response = api_client.post("/reset")
    assert response.status_code == 200
    assert response.json() == {"message": "All memories reset"}
    assert not Memory.objects.exists()
    assert not MemoryHistory.objects.exists()
    assert not DocumentText.objects.exists() and not ImageDescription.objects.exists()


def test_infer_without_llm_stores_a_repeat_of_an_expired_memory_again(api_client):
    """An expired memory is hidden from the caller, so the same message again is not a near-duplicate of it."""
    add(api_client, [user("Is in Paris this week")], infer=True, expiration_date="2020-01-01")
    again = add(api_client, [user("Is in Paris this week")], infer=True).json()["results"]
    assert [r["event"] for r in again] == ["ADD"]
    listed = api_client.get("/memories", {"user_id": "alice"}).json()["results"]
    assert [m["memory"] for m in listed] == ["Is in Paris this week"]


# --- app_id: the fourth scope ----------------------------------------------------------------------


def test_app_id_alone_scopes_add_list_search_and_delete(api_client):
    response = add(api_client, [user("Prefers dark mode")], user_id=None, app_id="notes-app")
    assert response.status_code == 200, response.json()
    [added] = response.json()["results"]
    assert Memory.objects.get(id=added["id"]).app_id == "notes-app"
    add(api_client, [user("Prefers light mode")], user_id=None, app_id="other-app")

    listed = api_client.get("/memories", {"app_id": "notes-app"}).json()["results"]
    assert [(m["memory"], m["app_id"]) for m in listed] == [("Prefers dark mode", "notes-app")]

    found = api_client.post("/search", {"query": "display theme", "app_id": "notes-app"}, format="json").json()
    assert [m["memory"] for m in found["results"]] == ["Prefers dark mode"]
    by_filter = api_client.post("/search", {"query": "theme", "filters": {"app_id": "other-app"}}, format="json")
    assert [m["memory"] for m in by_filter.json()["results"]] == ["Prefers light mode"]

    assert api_client.delete("/memories?app_id=notes-app").status_code == 200
    assert not Memory.objects.filter(app_id="notes-app").exists()
    assert Memory.objects.filter(app_id="other-app").count() == 1


def test_app_id_with_whitespace_is_rejected(api_client):
    response = add(api_client, [user("x")], app_id="two words")
    assert response.status_code == 400
    assert response.json()["errors"] == {"app_id": ["Must not contain whitespace."]}


def test_add_without_any_scope_names_all_four(api_client):
    response = add(api_client, [user("x")], user_id=None)
    assert response.status_code == 400
    assert "user_id, agent_id, app_id or run_id" in json.dumps(response.json())


UNKNOWN_INPUTS = {
    "a misspelt scope on the list": ("get", "/memories?user=alice", None, "user"),
    "a list parameter given twice": ("get", "/memories?user_id=alice&user_id=bob", None, "user_id"),
    "a misspelt top_k on the list": ("get", "/memories?user_id=alice&topk=1", None, "topk"),
    "a misspelt metadata on an add": (
        "post",
        "/memories",
        {"messages": "Likes tea", "user_id": "alice", "infer": False, "metdata": {"topic": "drinks"}},
        "metdata",
    ),
    "a misspelt top_k on a search": ("post", "/search", {"query": "tea", "user_id": "alice", "topk": 1}, "topk"),
    "a misspelt metadata on an update": ("put", "/memories/{id}", {"text": "Likes mint tea", "metdata": {}}, "metdata"),
    "a misspelt type on the entities": ("get", "/entities?typ=agent", None, "typ"),
    "a misspelt limit on the request log": ("get", "/requests?limt=1", None, "limt"),
}


@pytest.mark.parametrize("case", UNKNOWN_INPUTS)
def test_an_input_a_route_does_not_take_is_a_400_naming_it_and_changes_nothing(api_client, make_memory, case):
    # Each was ignored: ?user=alice listed every memory of every user, a misspelt metadata was stored (or updated)
    # as none, a misspelt top_k answered the default count.
    memory_id = make_memory("Likes tea", user_id="alice")
    make_memory("Likes coffee", user_id="bob")
    method, path, body, name = UNKNOWN_INPUTS[case]
    path = path.replace("{id}", memory_id)
    response = getattr(api_client, method)(path, body, format="json") if body else getattr(api_client, method)(path)
    assert response.status_code == 400
    assert name in str(response.json())
    assert sorted(Memory.objects.values_list("text", flat=True)) == ["Likes coffee", "Likes tea"]
