"""/configure: validation that names the field and changes nothing, runtime switching across requests and
workers, the embedding-size guard, redaction, and what the server says while inference is off."""

from __future__ import annotations

import logging
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from memories import configuration
from memories.models import Memory, MemorySentence, ServerConfig
from memories.tests.conftest import configure, llm_section
from memories.tests.fake_openai import error
from memories.tests.test_search import LONG_TURN


def add(client, content: str, **body):
    return client.post("/memories", {"messages": content, "user_id": "alice", **body}, format="json")


def stored() -> tuple:
    row = ServerConfig.objects.filter(pk=1).values_list("config", "version").first()
    return row or ({}, 0)


# --- reading it ------------------------------------------------------------------------------------------


def test_get_shows_the_defaults_and_says_inference_is_off_and_how_to_turn_it_on(api_client):
    body = api_client.get("/configure").json()
    assert body["llm"]["provider"] == "openai"
    assert body["embedder"] == {
        "provider": "local",
        "config": {
            "model": "all-MiniLM-L6-v2",
            "api_key": None,
            "openai_base_url": None,
            "embedding_dims": 384,
            "timeout": None,
        },
    }
    assert body["vector_store"]["provider"] == "pgvector"
    assert body["config_version"] == 0
    status = body["status"]
    assert status["inference_enabled"] is False
    assert "Inference is off" in status["inference"]
    assert "OPENAI_API_KEY" in status["inference"]
    assert "POST /configure" in status["inference"]


def test_get_redacts_secrets_and_passwords_in_urls(api_client, fake_openai):
    configure(
        api_client,
        llm=llm_section(fake_openai, api_key="sk-very-secret"),
        vector_store={"config": {"password": "hunter2", "connection_string": "postgresql://u:hunter2@db/x", "port": 1}},
    )
    response = api_client.get("/configure")
    body = response.json()
    assert "sk-very-secret" not in response.content.decode()
    assert "hunter2" not in response.content.decode()
    assert body["llm"]["config"]["api_key"] == "[redacted]"
    assert body["llm"]["config"]["max_tokens"] == 2000  # "token" in a name is not a secret
    assert body["vector_store"]["config"] == {
        "password": "[redacted]",
        "connection_string": "postgresql://u:[redacted]@db/x",
        "port": 1,
    }
    assert body["status"]["inference_enabled"] is True
    assert "fake-model" in body["status"]["inference"]


def test_get_redacts_a_secret_named_list_or_object_and_an_authorization_header(api_client, member_client):
    # GET /configure is a member's to read: a secret-named value that was a list or an object, and a header's
    # credentials (Authorization), were shown as they were sent.
    sent = {"password": ["hunter2", "hunter3"], "headers": {"Authorization": "Bearer sekrit", "Accept": "json"}}
    assert configure(api_client, vector_store={"config": sent}).status_code == 200
    response = member_client.get("/configure")
    assert response.status_code == 200
    assert not {"hunter2", "hunter3", "sekrit"} & set(re.findall(r"\w+", response.content.decode()))
    assert response.json()["vector_store"]["config"] == {
        "password": "[redacted]",
        "headers": {"Authorization": "[redacted]", "Accept": "json"},
    }


def test_get_shows_any_text_with_a_scheme_in_it(api_client):
    # Every string with "://" is checked for a password; parsing this one as a URL raised (a 500 on every GET).
    prompt = "Facts about pages such as http://[the-wiki]/x, and https://bot:s3cret@wiki.example/page."
    assert configure(api_client, custom_fact_extraction_prompt=prompt).status_code == 200
    response = api_client.get("/configure")
    assert response.status_code == 200
    assert response.json()["custom_fact_extraction_prompt"] == prompt.replace("s3cret", "[redacted]")


def test_get_survives_a_url_stored_before_urls_were_checked(api_client):
    # Stored by an earlier version, which let an out-of-range port through: GET must still answer, redacted.
    url = "http://u:hunter2@[::1]:99999/v1"
    ServerConfig.objects.create(pk=1, version=1, config={"llm": {"config": {"openai_base_url": url}}})
    response = api_client.get("/configure")
    assert response.status_code == 200
    assert response.json()["llm"]["config"]["openai_base_url"] == "http://u:[redacted]@[::1]:99999/v1"


def test_providers_lists_what_is_bundled(api_client):
    body = api_client.get("/configure/providers").json()
    assert set(body) == {"llm", "embedder", "vector_store", "reranker"}
    assert {"openai", "azure_openai", "ollama", "vllm", "lmstudio", "deepseek", "groq", "together", "litellm"} <= set(
        body["llm"]
    )
    assert {"anthropic", "gemini"} <= set(body["llm"])
    assert body["embedder"][0] == "local" and "openai" in body["embedder"]
    assert body["vector_store"] == ["pgvector"]
    assert body["reranker"] == []


def test_members_and_anonymous_callers_cannot_configure(anon_client, member_client):
    assert anon_client.post("/configure", {}, format="json").status_code == 401
    assert anon_client.get("/configure").status_code == 401
    assert anon_client.delete("/configure").status_code == 401
    assert member_client.delete("/configure").status_code == 403


def test_openapi_types_the_configure_bodies(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]["/configure"]) == {"get", "post", "delete"}
    assert "get" in schema["paths"]["/configure/providers"]
    properties = schema["components"]["schemas"]["ConfigRequest"]["properties"]
    assert {"llm", "embedder", "vector_store", "reranker", "custom_fact_extraction_prompt"} <= set(properties)
    assert "status" not in properties


# --- changing it ---------------------------------------------------------------------------------------


def test_switching_the_model_applies_to_the_next_request(api_client, llm):
    add(api_client, "Likes tea")
    assert configure(api_client, llm={"config": {"model": "second-model"}}).json() == {
        "message": "Configuration set successfully"
    }
    add(api_client, "Likes coffee")
    assert [c.body["model"] for c in llm.chat_calls("extract")] == ["fake-model", "second-model"]
    assert api_client.get("/configure").json()["llm"]["config"]["model"] == "second-model"


def test_a_change_stored_by_another_worker_is_picked_up_on_the_next_request(api_client, llm):
    add(api_client, "Likes tea")
    # Another process writes a new version; this process has not seen it.
    row = ServerConfig.objects.get()
    row.config["llm"]["config"]["model"] = "model-from-elsewhere"
    row.version += 1
    row.save()
    add(api_client, "Likes coffee")
    assert llm.chat_calls("extract")[-1].body["model"] == "model-from-elsewhere"


def test_changes_are_deep_merged(api_client, fake_openai):
    configure(api_client, llm=llm_section(fake_openai))
    configure(api_client, llm={"config": {"temperature": 0.7}}, custom_fact_extraction_prompt="Only food.")
    body = api_client.get("/configure").json()
    assert (body["llm"]["config"]["temperature"], body["llm"]["config"]["model"]) == (0.7, "fake-model")
    assert body["llm"]["config"]["openai_base_url"] == fake_openai.url
    assert body["custom_fact_extraction_prompt"] == "Only food."
    assert body["config_version"] == 2


def test_a_new_provider_starts_from_its_own_settings(api_client, fake_openai):
    configure(api_client, llm=llm_section(fake_openai, api_key="sk-openai"))
    response = configure(api_client, llm={"provider": "ollama", "config": {"model": "llama3.1"}})
    assert response.status_code == 200
    config = configuration.server_config_current().config["llm"]
    assert config == {"provider": "ollama", "config": {"model": "llama3.1"}}
    assert configuration.server_config_current().llm.client.endpoint.base_url == "http://localhost:11434/v1"


def test_mem0_base_url_names_are_accepted(api_client):
    response = configure(
        api_client, llm={"provider": "ollama", "config": {"model": "qwen3", "ollama_base_url": "http://ollama:11434"}}
    )
    assert response.status_code == 200, response.json()
    assert api_client.get("/configure").json()["llm"]["config"]["openai_base_url"] == "http://ollama:11434/v1"


def test_posting_the_redacted_config_back_keeps_the_secret(api_client, llm):
    shown = api_client.get("/configure").json()
    shown["llm"]["config"]["model"] = "renamed-model"
    assert configure(api_client, **shown).status_code == 200
    add(api_client, "Likes tea")
    call = llm.chat_calls()[-1]
    assert (call.body["model"], call.headers["authorization"]) == ("renamed-model", "Bearer sk-test")


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:11434/v1?api-version=2024-02-01", "http://proxy-user:proxy-pass@127.0.0.1:11434/v1"]
)
def test_posting_the_config_back_as_shown_keeps_a_masked_base_url_and_its_key(api_client, base_url):
    llm = {"provider": "openai", "config": {"openai_base_url": base_url, "api_key": "sk-stored-key"}}
    assert configure(api_client, llm=llm).status_code == 200
    shown = api_client.get("/configure").json()
    assert "[redacted]" in shown["llm"]["config"]["openai_base_url"]
    shown["llm"]["config"]["model"] = "renamed-model"
    assert configure(api_client, **shown).status_code == 200
    stored = ServerConfig.objects.get(pk=1).config["llm"]["config"]
    assert (stored["openai_base_url"], stored["api_key"]) == (base_url, "sk-stored-key")
    assert stored["model"] == "renamed-model"


def test_a_masked_base_url_posted_back_after_the_url_was_changed_is_refused(api_client):
    """Read, then the base URL changed (another admin), then posted back as shown: the masked URL stood for none in
    force, and was stored as shown, "[redacted]" in its query, for the provider to be sent."""
    first = "http://127.0.0.1:11434/v1?api-version=2024-02-01"
    assert configure(api_client, llm={"provider": "openai", "config": {"openai_base_url": first}}).status_code == 200
    shown = api_client.get("/configure").json()
    moved = {"openai_base_url": "http://127.0.0.1:9/v1?api-version=2025-01-01"}
    assert configure(api_client, llm={"provider": "openai", "config": moved}).status_code == 200
    refused = configure(api_client, llm=shown["llm"])
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("llm.config.openai_base_url: ")
    assert "no longer stands for the URL in force" in refused.json()["detail"]
    assert ServerConfig.objects.get(pk=1).config["llm"]["config"]["openai_base_url"] == moved["openai_base_url"]


def test_llm_null_turns_inference_off(api_client, llm):
    configure(api_client, llm=None)
    response = add(api_client, "Likes tea")
    assert response.json()["results"][0]["role"] == "user"  # stored as given
    assert llm.calls == []
    assert api_client.get("/configure").json()["status"]["inference_enabled"] is False


def test_delete_returns_to_the_environments_settings_in_every_worker(api_client, settings, fake_openai, caplog):
    from mem0server.startup import announce

    settings.OPENAI_BASE_URL, settings.LLM_MODEL = fake_openai.url, "env-model"
    configure(api_client, llm=None)  # stored: inference off, over the environment's LLM
    assert api_client.get("/configure").json()["status"]["inference_enabled"] is False
    with caplog.at_level(logging.INFO, logger="mem0server"):
        announce()  # a process starting now says why, and how back
    assert "DELETE /configure returns to the environment's settings" in caplog.text

    response = api_client.delete("/configure")
    assert response.json() == {"message": "Stored configuration cleared; the environment's settings apply."}
    configuration.server_config_forget()  # another worker, which reads the stored configuration afresh
    assert api_client.get("/configure").json()["status"]["inference_enabled"] is True
    add(api_client, "Likes coffee")
    assert [call.body["model"] for call in fake_openai.chat_calls("extract")] == ["env-model"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"llm": {"provider": "skynet"}}, ["llm.provider", "skynet", "not a bundled LLM provider"]),
        ({"embedder": {"provider": "cohere"}}, ["embedder.provider", "cohere"]),
        ({"vector_store": {"provider": "qdrant"}}, ["vector_store.provider", "qdrant", "pgvector"]),
        ({"reranker": {"provider": "cohere"}}, ["reranker.provider", "not bundled"]),
        ({"graph_store": {"provider": "neo4j"}}, ["graph_store.provider", "not bundled"]),
        ({"colour": "blue"}, ["colour", "Unknown field"]),
        ({"llm": {"config": {"temprature": 0.1}}}, ["llm.config.temprature", "Unknown field"]),
        ({"llm": {"config": {"temperature": "hot"}}}, ["llm.config.temperature"]),
        ({"llm": {"config": {"temperature": 9}}}, ["llm.config.temperature"]),
        ({"llm": {"config": {"openai_base_url": "ftp://x"}}}, ["llm.config.openai_base_url"]),
        # Each of these was stored, and the port one then made every GET /configure a 500 (or this POST was).
        ({"llm": {"config": {"openai_base_url": "http://u:pw@h:99999/v1"}}}, ["llm.config.openai_base_url"]),
        ({"llm": {"config": {"openai_base_url": "http://h:port/v1"}}}, ["llm.config.openai_base_url"]),
        ({"llm": {"config": {"openai_base_url": "http://[::1/v1"}}}, ["llm.config.openai_base_url"]),
        ({"llm": {"config": {"openai_base_url": "http://:8000/v1"}}}, ["llm.config.openai_base_url"]),
        ({"embedder": {"config": {"ollama_base_url": "http://h:-1"}}}, ["embedder.config.ollama_base_url"]),
        ({"llm": {"config": {"timeout": 0}}}, ["llm.config.timeout"]),
        ({"llm": {"provider": "ollama"}}, ["llm.config.model", "required"]),
        ({"llm": {"provider": "azure_openai", "config": {"model": "gpt"}}}, ["llm.config.openai_base_url"]),
        ({"llm": {"provider": "groq", "config": {"model": "llama"}}}, ["llm.config.api_key", "required"]),
        (
            {"embedder": {"provider": "openai", "config": {"model": "e5", "api_key": "k"}}},
            ["embedder.config.embedding_dims"],
        ),
        ({"embedder": {"config": {"embedding_dims": 5000}}}, ["embedder.config.embedding_dims", "2000"]),
        ({"embedder": {"config": {"embedding_dims": 768}}}, ["embedder.config.embedding_dims", "384"]),
        ({"embedder": {"config": {"model": "bge-m3"}}}, ["embedder.config.model"]),
        ({"vector_store": {"config": {"embedding_model_dims": 1536}}}, ["vector_store.config.embedding_model_dims"]),
        (
            {"vector_store": {"config": {"embedding_model_dims": "384"}}},
            ["vector_store.config.embedding_model_dims", "whole number", "'384'"],
        ),
        ({"custom_update_memory_prompt": 42}, ["custom_update_memory_prompt"]),
        ({"embedder": None}, ["embedder"]),
    ],
)
def test_an_invalid_config_is_a_400_naming_the_field_and_changes_nothing(api_client, fake_openai, body, names):
    configure(api_client, llm=llm_section(fake_openai))
    before = (stored(), api_client.get("/configure").json())
    response = configure(api_client, **body)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert all(name in detail for name in names), detail
    assert (stored(), api_client.get("/configure").json()) == before


def test_a_body_that_is_not_an_object_is_a_400(api_client):
    response = api_client.post("/configure", [1, 2], format="json")
    assert response.status_code == 400
    assert stored() == ({}, 0)


# --- the embedding size ----------------------------------------------------------------------------------


def openai_embedder(fake, dims: int) -> dict:
    fake.dims = dims
    return {
        "provider": "openai",
        "config": {"model": "fake-embed", "api_key": "sk-test", "openai_base_url": fake.url, "embedding_dims": dims},
    }


def test_a_search_after_another_worker_switched_the_embedder_embeds_the_query_with_the_new_one(
    api_client, make_memory, fake_openai, embedder
):
    """A search starts embedding its query with the embedder this process last saw, before it reads the stored
    configuration; when that read finds another embedder, the query is embedded again with the new one."""
    make_memory("Likes green tea")
    assert api_client.post("/search", {"query": "tea", "user_id": "alice"}, format="json").status_code == 200
    # Another process stores a same-size embedder; this process has not seen it.
    ServerConfig.objects.create(pk=1, version=1, config={"embedder": openai_embedder(fake_openai, 384)})
    response = api_client.post("/search", {"query": "which tea", "user_id": "alice"}, format="json")
    assert response.status_code == 200
    assert [c.body["input"] for c in fake_openai.embed_calls()] == [["which tea"]]


def test_a_new_embedding_size_with_memories_stored_is_a_409_and_changes_nothing(api_client, make_memory, fake_openai):
    make_memory("Likes tea")
    response = configure(api_client, embedder=openai_embedder(fake_openai, 16))
    assert response.status_code == 409
    assert "/reset" in response.json()["detail"] and "import_memories" in response.json()["detail"]
    assert stored() == ({}, 0)
    assert configuration.vector_column_dims() == 384
    assert api_client.post("/search", {"query": "tea", "user_id": "alice"}, format="json").status_code == 200


def test_a_new_embedding_size_on_an_empty_store_resizes_the_vector_column(api_client, fake_openai):
    assert configure(api_client, embedder=openai_embedder(fake_openai, 16)).status_code == 200
    assert configuration.vector_column_dims() == 16
    response = add(api_client, "Likes tea", infer=False)
    assert response.status_code == 200
    hits = api_client.post("/search", {"query": "likes tea", "user_id": "alice"}, format="json").json()["results"]
    assert hits[0]["memory"] == "Likes tea"
    assert [c.body["input"] for c in fake_openai.embed_calls()] == [["Likes tea"], ["likes tea"]]
    assert api_client.get("/configure").json()["status"]["embedder"].startswith("openai: fake-embed, 16 dims")
    # Back to the local embedder: refused now that 16-dimensional memories exist.
    assert configure(api_client, embedder={"provider": "local"}).status_code == 409


def test_a_store_resized_before_sentence_vectors_existed_gets_a_sentence_column_of_its_size(api_client, fake_openai):
    """Migration 0014 makes the sentence column 384 wide, whatever size an earlier version resized the memories'
    column to: the next process start fits it, or every long memory's add failed (its sentences did not fit)."""
    assert configure(api_client, embedder=openai_embedder(fake_openai, 16)).status_code == 200
    assert add(api_client, "Likes tea", infer=False).status_code == 200
    with connection.cursor() as cursor:  # as migration 0014 leaves a store of 16-dimensional memories
        cursor.execute(f"ALTER TABLE {MemorySentence._meta.db_table} ALTER COLUMN embedding TYPE vector(384)")
    configuration.server_config_forget()  # the next process
    response = add(api_client, LONG_TURN, infer=False)
    assert response.status_code == 200, response.json()
    assert MemorySentence.objects.count() == 4
    hits = api_client.post("/search", {"query": "a greyhound", "user_id": "alice"}, format="json")
    assert hits.status_code == 200
    assert LONG_TURN in [hit["memory"] for hit in hits.json()["results"]]


def test_a_same_size_embedder_change_needs_no_empty_store(api_client, make_memory, fake_openai):
    make_memory("Likes tea")
    assert configure(api_client, embedder=openai_embedder(fake_openai, 384)).status_code == 200


def test_embedder_failures_are_upstream_errors(api_client, fake_openai):
    configure(api_client, embedder=openai_embedder(fake_openai, 16))
    fake_openai.embed_queue.append(error(401, "bad key"))
    response = add(api_client, "Likes tea", infer=False)
    assert (response.status_code, response.json()["code"]) == (502, "provider_auth_failed")
    assert "embedding provider" in response.json()["detail"]
    assert not Memory.objects.exists()


def test_an_embedder_returning_the_wrong_size_is_a_502(api_client, fake_openai):
    configure(api_client, embedder=openai_embedder(fake_openai, 16))
    fake_openai.dims = 8  # the server now disagrees with the configuration
    response = add(api_client, "Likes tea", infer=False)
    assert (response.status_code, response.json()["code"]) == (502, "provider_bad_request")
    assert "expected 16 dimensions" in response.json()["detail"]


def test_a_stored_size_mismatch_answers_409_until_fixed(api_client, make_memory, fake_openai, settings):
    make_memory("Likes tea")
    # The environment now names a 16-dimensional embedder, but 384-dimensional memories are stored.
    settings.EMBEDDER, settings.EMBEDDER_MODEL, settings.EMBEDDER_DIMS = "openai", "fake-embed", 16
    settings.OPENAI_BASE_URL = fake_openai.url
    configuration.server_config_forget()
    response = api_client.post("/search", {"query": "tea", "user_id": "alice"}, format="json")
    assert response.status_code == 409
    assert "16-dimensional" in response.json()["detail"]
    assert "16-dimensional" in api_client.get("/configure").json()["status"]["embedder"]
    # OPENAI_BASE_URL turned the LLM on too, but the add stops before spending a call on it.
    assert add(api_client, "Likes coffee").status_code == 409
    assert fake_openai.chat_calls() == []


def test_a_stored_size_mismatch_ends_without_a_restart_once_the_store_is_reset(
    api_client, make_memory, fake_openai, settings, tmp_path
):
    """The 409 says how to change the size: export, POST /reset, import (which embeds with the new embedder). The
    worker that answered it noticed neither the reset nor the import: it answered 409 until it was restarted."""
    make_memory("Likes tea")
    backup = tmp_path / "memories.jsonl"
    call_command("export_memories", "--output", str(backup))
    settings.EMBEDDER, settings.EMBEDDER_MODEL, settings.EMBEDDER_DIMS = "openai", "fake-embed", 16
    settings.OPENAI_BASE_URL, fake_openai.dims = fake_openai.url, 16
    configuration.server_config_forget()  # the server restarted with the new embedder
    detail = api_client.post("/search", {"query": "tea", "user_id": "alice"}, format="json").json()["detail"]
    assert "export_memories" in detail and "import_memories" in detail
    with pytest.raises(CommandError, match="16-dimensional"):  # re-embedding cannot change the size
        call_command("reembed_memories", "--all")

    assert api_client.post("/reset").status_code == 200
    call_command("import_memories", "--input", str(backup))  # another process: it resizes the column

    assert configuration.vector_column_dims() == 16
    hits = api_client.post("/search", {"query": "tea", "user_id": "alice"}, format="json")
    assert hits.status_code == 200, hits.json()
    assert [hit["memory"] for hit in hits.json()["results"]] == ["Likes tea"]
    assert add(api_client, "Likes coffee", infer=False).status_code == 200


# --- the startup log --------------------------------------------------------------------------------------


def newest_migration(app: str) -> str:
    from django.db.migrations.loader import MigrationLoader

    [(_, name)] = [node for node in MigrationLoader(None).graph.leaf_nodes() if node[0] == app]
    return name


def test_startup_log_says_to_run_bootstrap_when_the_database_lacks_migrations_of_this_version(db, caplog):
    """A new version's server started on the database before its `manage.py bootstrap` (gunicorn restarted by hand or
    by a service manager) said nothing of it: /healthz answered 200, and what touched a new column a 500."""
    from mem0server.startup import announce

    with caplog.at_level(logging.INFO, logger="mem0server"):
        announce()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with (
        connection.cursor() as cursor
    ):  # as the database is before the upgrade's migrate (the test's rollback undoes it)
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'memories' AND name = %s", [newest_migration("memories")]
        )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mem0server"):
        announce()
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.startswith("database: The database at postgresql://")
    assert line.endswith(
        "lacks 1 migration of this version: run `python manage.py bootstrap` (or `make serve`, which runs it) first."
    )


def test_startup_log_says_inference_is_off_and_how_to_turn_it_on(db, caplog):
    from mem0server.startup import announce

    with caplog.at_level(logging.INFO, logger="mem0server"):
        announce()
    llm_line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("llm:"))
    assert "inference is off" in llm_line
    assert "OPENAI_API_KEY" in llm_line


def test_startup_log_names_the_configured_model(api_client, llm, caplog):
    from mem0server.startup import announce

    with caplog.at_level(logging.INFO, logger="mem0server"):
        announce()
    assert any("model fake-model" in r.getMessage() and "on" in r.getMessage() for r in caplog.records)
