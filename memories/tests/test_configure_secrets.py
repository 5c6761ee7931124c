"""/configure and secrets: a key goes only to a base URL named with it, keys must be sendable, credentials in
base URLs and keys echoed by providers stay hidden from members and from the log, and the startup log says
what is stored."""

from __future__ import annotations

import base64
import json
import logging
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.db import connection

from memories.configuration import server_config_forget
from memories.models import ServerConfig
from memories.tests.conftest import configure
from memories.tests.fake_openai import FakeOpenAI, error


@pytest.fixture
def environment_server():
    """The OPENAI_BASE_URL of the environment (say, a local Ollama)."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def configured_server():
    """A server named through POST /configure."""
    with FakeOpenAI() as fake:
        yield fake


def add(client, content: str = "I like tea"):
    return client.post("/memories", {"messages": content, "user_id": "alice"}, format="json")


def keys_received(fake: FakeOpenAI) -> set[str]:
    return {call.headers.get("authorization", "") for call in fake.calls}


# --- which key goes where ----------------------------------------------------------------------------------


def test_a_key_set_without_a_base_url_is_not_sent_to_the_environments_base_url(
    api_client, settings, environment_server
):
    """The README's "OpenAI again with an explicit key" while OPENAI_BASE_URL points at a local server."""
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.LLM_MODEL = environment_server.url, "", "fake-model"
    assert add(api_client).status_code == 200  # the environment's server works, without a key
    environment_server.reset_calls()

    response = configure(api_client, llm={"provider": "openai", "config": {"api_key": "sk-configured-0123456789"}})
    assert response.status_code == 200, response.json()
    body = api_client.get("/configure").json()
    assert body["llm"]["config"]["openai_base_url"] is None
    assert "at https://api.openai.com/v1" in body["status"]["inference"]  # the provider's own address
    assert environment_server.calls == []


def test_a_key_set_later_goes_to_the_base_url_stored_with_it(
    api_client, settings, environment_server, configured_server
):
    settings.OPENAI_BASE_URL = environment_server.url
    section = {"model": "fake-model", "api_key": "sk-first-0123456789", "openai_base_url": configured_server.url}
    assert configure(api_client, llm={"provider": "openai", "config": section}).status_code == 200
    assert configure(api_client, llm={"config": {"api_key": "sk-second-0123456789"}}).status_code == 200

    assert add(api_client).status_code == 200
    assert keys_received(configured_server) == {"Bearer sk-second-0123456789"}
    assert environment_server.calls == []


@pytest.mark.parametrize("key", [None, "[redacted]"], ids=["no key", "the key posted back masked"])
def test_a_stored_key_does_not_follow_a_base_url_moved_without_it(api_client, configured_server, key):
    section = {"model": "fake-model", "api_key": "sk-stored-0123456789", "openai_base_url": configured_server.url}
    assert configure(api_client, llm={"provider": "openai", "config": section}).status_code == 200
    with FakeOpenAI() as elsewhere:
        moved = {"openai_base_url": elsewhere.url} | ({"api_key": key} if key else {})
        assert configure(api_client, llm={"config": moved}).status_code == 200
        add(api_client)
        assert elsewhere.calls  # the moved URL is used, without the key stored for the old one
        assert "sk-stored" not in " ".join(keys_received(elsewhere))
        assert api_client.get("/configure").json()["llm"]["config"].get("api_key") is None

        # Sent again with the URL, the key goes there.
        moved["api_key"] = "sk-stored-0123456789"
        assert configure(api_client, llm={"config": moved}).status_code == 200
        elsewhere.reset_calls()
        assert add(api_client).status_code == 200
        assert keys_received(elsewhere) == {"Bearer sk-stored-0123456789"}


def test_the_environments_key_is_not_sent_to_a_base_url_set_through_configure(
    api_client, settings, environment_server, configured_server
):
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = environment_server.url, "sk-environment-0123456789"
    settings.LLM_MODEL = "fake-model"
    response = configure(api_client, llm={"provider": "openai", "config": {"openai_base_url": configured_server.url}})
    assert response.status_code == 200, response.json()

    assert add(api_client).status_code == 200
    assert configured_server.calls
    assert "sk-environment" not in " ".join(keys_received(configured_server))
    assert environment_server.calls == []


def test_the_environments_key_still_goes_to_the_environments_base_url_when_the_config_is_posted_back(
    api_client, settings, environment_server
):
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = environment_server.url, "sk-environment-0123456789"
    settings.LLM_MODEL = "fake-model"
    shown = api_client.get("/configure").json()
    assert configure(api_client, llm=shown["llm"]).status_code == 200  # the key comes back as "[redacted]"

    assert add(api_client).status_code == 200
    assert keys_received(environment_server) == {"Bearer sk-environment-0123456789"}


def test_a_key_for_a_provider_without_a_default_address_needs_a_base_url(api_client, settings, environment_server):
    settings.OPENAI_BASE_URL = environment_server.url
    response = configure(api_client, llm={"provider": "azure_openai", "config": {"api_key": "k-0123456789"}})
    assert response.status_code == 400
    assert "llm.config.openai_base_url" in response.json()["detail"]


# --- keys that cannot be sent ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["sk-…", "sk-abc def", "sk-abc\tdef", "ключ"])
def test_a_key_that_is_not_printable_ascii_is_a_400_naming_the_field(api_client, fake_openai, key):
    section = {"model": "fake-model", "api_key": key, "openai_base_url": fake_openai.url}
    response = configure(api_client, llm={"provider": "openai", "config": section})
    assert response.status_code == 400
    assert "llm.config.api_key" in response.json()["detail"]
    assert "ASCII" in response.json()["detail"]
    assert not ServerConfig.objects.exists()


# --- what a member and the log can see ---------------------------------------------------------------------

SECRETS = ("pw-SECRET-1", "QS-SECRET-2", "sk-live-ABCDEFGHIJKLMNOP", "ABCDEFGH", "KLMNOP")


def assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_a_member_sees_no_base_url_credentials_or_query_values(api_client, member_client, fake_openai, caplog):
    # The fake answers 404 to the path this URL makes, quoting the path (query and all).
    host = fake_openai.url.removeprefix("http://").removesuffix("/v1")
    url = f"http://bob:pw-SECRET-1@{host}/v1?api-key=QS-SECRET-2"
    section = {"model": "fake-model", "api_key": "sk-live-ABCDEFGHIJKLMNOP", "openai_base_url": url}
    with caplog.at_level(logging.INFO):
        assert configure(api_client, llm={"provider": "openai", "config": section}).status_code == 200
        shown = member_client.get("/configure")
        failed = add(member_client)
    assert shown.status_code == 200
    assert_hidden(shown.content.decode())
    assert "bob:[redacted]@" in shown.json()["llm"]["config"]["openai_base_url"]
    assert "api-key=[redacted]" in shown.json()["status"]["inference"]
    assert failed.status_code == 502
    assert_hidden(failed.content.decode())
    assert "[redacted]" in failed.json()["detail"]
    assert_hidden(caplog.text)


@pytest.mark.parametrize(
    "connection",
    [
        "dbname=mem0 user=mem0 password=PG-SECRET-3 host=db.internal",  # libpq's keyword form, as psycopg takes
        "postgresql://mem0:PG-SECRET-3@db.internal:5432/mem0",
        # A password whose characters before its first "/" are digits was read as a port, and shown.
        "postgresql://mem0:5432/PG-SECRET-3@db.internal:5432/mem0",
        # One holding what ends a URL in running text (a quote, a space, "<"): the URL was read to there, and shown.
        "postgresql://mem0:it's PG-SECRET-3 <ok>@db.internal:5432/mem0",
    ],
    ids=["keywords", "url", "url, a password starting like a port", "url, a password holding a quote and spaces"],
)
def test_a_vector_store_connection_strings_password_is_neither_shown_nor_stored_in_the_clear(
    api_client, member_client, caplog, connection
):
    """Mem0's pgvector config takes a `connection_string`; in libpq's keyword form its password is no URL's, and
    GET /configure showed it to every member (and it was stored unsealed)."""
    vector_store = {"provider": "pgvector", "config": {"connection_string": connection}}
    with caplog.at_level(logging.INFO):
        assert configure(api_client, vector_store=vector_store).status_code == 200
        shown = member_client.get("/configure")
    assert shown.status_code == 200
    assert "PG-SECRET-3" not in shown.content.decode()
    assert "PG-SECRET-3" not in stored_text()
    assert "PG-SECRET-3" not in caplog.text
    # Posted back as shown, it keeps the value in force.
    assert configure(api_client, vector_store=shown.json()["vector_store"]).status_code == 200
    from memories.configuration import server_config_current

    assert server_config_current().config["vector_store"]["config"]["connection_string"] == connection


def test_a_base_url_password_starting_like_a_port_is_masked_in_configure_the_error_and_the_log(
    api_client, member_client, caplog
):
    """`http://u:42/pw@host/v1` reads, to a URL parser, as host u and port 42: the password was shown whole."""
    url = "http://localhost:42/pw-SECRET-1@127.0.0.1:9/v1"  # no lookup of a name: refused on this machine
    section = {"model": "fake-model", "api_key": "sk-live-ABCDEFGHIJKLMNOP", "openai_base_url": url}
    with caplog.at_level(logging.DEBUG):
        assert configure(api_client, llm={"provider": "openai", "config": section}).status_code == 200
        shown = member_client.get("/configure")
        failed = add(member_client)
    assert shown.json()["llm"]["config"]["openai_base_url"] == "http://localhost:[redacted]@127.0.0.1:9/v1"
    assert_hidden(shown.content.decode())
    assert "pw-SECRET-1" not in stored_text()
    assert failed.status_code == 502
    assert_hidden(failed.content.decode())
    assert_hidden(caplog.text)


def test_a_provider_echoing_part_of_the_key_is_redacted(api_client, member_client, fake_openai, caplog):
    section = {"model": "fake-model", "api_key": "sk-live-ABCDEFGHIJKLMNOP", "openai_base_url": fake_openai.url}
    assert configure(api_client, llm={"provider": "openai", "config": section}).status_code == 200
    fake_openai.chat_queue.append(
        error(401, "Incorrect API key provided: sk-live-***MNOP. You can find your API key at https://x.example/keys.")
    )
    with caplog.at_level(logging.INFO):
        response = add(member_client)
    assert response.status_code == 502
    assert response.json()["code"] == "provider_auth_failed"
    assert "Incorrect API key provided: [redacted]" in response.json()["detail"]
    assert "***" not in response.json()["detail"]
    assert_hidden(response.content.decode())
    assert_hidden(caplog.text)


# --- the startup log ---------------------------------------------------------------------------------------


def announce_lines(caplog) -> list[str]:
    from mem0server.startup import announce

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mem0server"):
        announce()
    return [record.getMessage() for record in caplog.records]


def test_startup_log_says_what_is_stored_and_why_it_is_not_in_force(db, caplog, fake_openai):
    # Stored by an earlier version (or valid under another environment): azure_openai with no base URL.
    ServerConfig.objects.create(
        pk=1, version=3, config={"llm": {"provider": "azure_openai", "config": {"api_key": "sk-live-ABCDEFGHIJKLMNOP"}}}
    )
    lines = announce_lines(caplog)
    stored = next(line for line in lines if line.startswith("configuration v3 stored"))
    assert "azure_openai" in stored and "[redacted]" in stored
    llm = next(line for line in lines if line.startswith("llm:"))
    assert "stored through POST /configure (configuration v3) is not in force" in llm
    assert "llm.config.openai_base_url: required for provider azure_openai" in llm
    assert "none configured" not in llm
    assert_hidden("\n".join(lines))


def test_startup_log_says_inference_was_turned_off_through_configure(db, caplog):
    ServerConfig.objects.create(pk=1, version=2, config={"llm": None})
    lines = announce_lines(caplog)
    assert any(
        line.startswith("configuration v2 stored through POST /configure, in force over the environment's settings")
        and line.endswith("llm turned off")
        for line in lines
    )
    llm = next(line for line in lines if line.startswith("llm:"))
    assert "turned off through POST /configure (configuration v2; DELETE /configure returns" in llm


def test_startup_log_says_nothing_is_stored_after_delete_configure(db, caplog):
    # DELETE /configure leaves the row with empty overrides and a higher version: the environment's settings
    # are in force, so the log must not claim a stored configuration overrides them.
    ServerConfig.objects.create(pk=1, version=5, config={})
    lines = announce_lines(caplog)
    assert not any("stored through POST /configure" in line for line in lines)
    assert any(line.startswith("llm: none configured") for line in lines)


# --- at rest -----------------------------------------------------------------------------------------------

KEY = "sk-live-ABCDEFGHIJKLMNOP"


def stored_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT config::text FROM {ServerConfig._meta.db_table}")  # noqa: S608
        return cursor.fetchone()[0]


def configure_key(client, fake: FakeOpenAI) -> None:
    section = {"model": "fake-model", "api_key": KEY, "openai_base_url": fake.url}
    assert configure(client, llm={"provider": "openai", "config": section}).status_code == 200


def a_fresh_process() -> None:
    server_config_forget()  # what another server process or job worker starts from


def test_a_key_set_through_configure_is_sealed_in_the_database_and_still_used(api_client, configured_server):
    configure_key(api_client, configured_server)
    text = stored_text()
    assert KEY not in text and "ABCDEFGH" not in text
    assert "sealed:v1:" in text
    a_fresh_process()
    assert add(api_client).status_code == 200
    assert keys_received(configured_server) == {f"Bearer {KEY}"}


def test_a_key_sealed_under_another_secret_key_is_not_sent_and_opens_again_with_the_fallback(
    api_client, settings, configured_server, caplog
):
    configure_key(api_client, configured_server)
    old_secret, settings.SECRET_KEY = settings.SECRET_KEY, "a-new-secret-key-0123456789-0123456789-0123456789"
    a_fresh_process()
    with caplog.at_level(logging.WARNING, logger="mem0server"):
        add(api_client)
    assert not any(KEY in key for key in keys_received(configured_server))
    assert "llm.config.api_key was sealed with another SECRET_KEY" in caplog.text
    assert "SECRET_KEY_FALLBACKS" in caplog.text

    configured_server.reset_calls()
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    a_fresh_process()
    assert add(api_client).status_code == 200
    assert keys_received(configured_server) == {f"Bearer {KEY}"}


def test_a_sealed_value_posted_as_a_key_is_a_400(api_client, configured_server):
    configure_key(api_client, configured_server)
    sealed = json.loads(stored_text())["llm"]["config"]["api_key"]
    section = {"api_key": sealed}
    response = configure(api_client, llm={"provider": "openai", "config": section})
    assert response.status_code == 400
    assert "llm.config.api_key" in response.json()["detail"] and "sealed" in response.json()["detail"]


def test_a_key_stored_in_clear_by_an_earlier_version_is_used_and_the_migration_seals_it(api_client, configured_server):
    config = {"llm": {"provider": "openai", "config": {"model": "fake-model", "api_key": KEY}}}
    config["llm"]["config"]["openai_base_url"] = configured_server.url
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ServerConfig._meta.db_table} (id, config, version, updated_at) "  # noqa: S608
            "VALUES (1, %s::jsonb, 1, now())",
            [json.dumps(config)],
        )
    a_fresh_process()
    assert add(api_client).status_code == 200
    assert keys_received(configured_server) == {f"Bearer {KEY}"}

    import_module("memories.migrations.0010_server_config_keys_sealed").seal_stored(django_apps, None)
    assert KEY not in stored_text()
    configured_server.reset_calls()
    a_fresh_process()
    assert add(api_client).status_code == 200
    assert keys_received(configured_server) == {f"Bearer {KEY}"}


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_a_base_url_with_credentials_is_sealed_in_the_database_and_still_used(api_client, configured_server):
    url = configured_server.url.replace("http://", "http://bob:pw-SECRET-1@") + "?api-key=QS-SECRET-2"
    section = {"model": "fake-model", "api_key": KEY, "openai_base_url": url}
    assert configure(api_client, llm={"provider": "openai", "config": section}).status_code == 200
    text = stored_text()
    assert "pw-SECRET-1" not in text and "QS-SECRET-2" not in text and "bob" not in text
    a_fresh_process()
    failed = add(api_client)
    # The fake answers 404 to the path this URL makes, quoting the path: the query came opened from the database.
    assert failed.status_code == 502
    assert "no route /v1/?api-key=[redacted]" in failed.json()["detail"]


def test_a_base_url_with_credentials_stored_in_clear_is_sealed_by_the_migration(api_client, configured_server):
    url = configured_server.url.replace("http://", "http://bob:pw-SECRET-1@")
    config = {"llm": {"provider": "openai", "config": {"model": "fake-model", "api_key": KEY, "openai_base_url": url}}}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ServerConfig._meta.db_table} (id, config, version, updated_at) "  # noqa: S608
            "VALUES (1, %s::jsonb, 1, now())",
            [json.dumps(config)],
        )
    assert "pw-SECRET-1" in stored_text()
    import_module("memories.migrations.0012_server_config_urls_sealed").seal_stored(django_apps, None)
    assert "pw-SECRET-1" not in stored_text()
    a_fresh_process()
    assert add(api_client).status_code == 200
    assert keys_received(configured_server) == {basic("bob:pw-SECRET-1")}  # the URL's credentials win (httpx)


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://mem0:5432/PG-SECRET-3@db.internal:5432/mem0", "postgresql://mem0:ab/PG-SECRET-3@db.internal/mem0"],
    ids=["a password starting like a port", "a password holding a slash"],
)
def test_a_connection_string_an_earlier_version_stored_in_clear_is_sealed_by_the_migration(member_client, dsn):
    """Earlier versions did not see these passwords as passwords: stored in clear, and shown."""
    config = {"vector_store": {"provider": "pgvector", "config": {"connection_string": dsn}}}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ServerConfig._meta.db_table} (id, config, version, updated_at) "  # noqa: S608
            "VALUES (1, %s::jsonb, 1, now())",
            [json.dumps(config)],
        )
    import_module("memories.migrations.0024_server_config_urls_sealed_again").seal_stored(django_apps, None)
    assert "PG-SECRET-3" not in stored_text()
    a_fresh_process()
    shown = member_client.get("/configure").json()["vector_store"]["config"]["connection_string"]
    assert shown == "postgresql://mem0:[redacted]@db.internal" + dsn.partition("@db.internal")[2]
    from memories.configuration import server_config_current

    assert server_config_current().config["vector_store"]["config"]["connection_string"] == dsn


# --- redirects ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "azure_openai"])
def test_a_provider_redirecting_elsewhere_gets_neither_the_key_nor_the_conversation_sent_on(
    api_client, configured_server, provider
):
    """A base URL answering 307 to another host: the openai client followed it, and Azure's `api-key` header
    (which httpx does not strip across origins, unlike Authorization) went along with the whole prompt."""
    section = {"model": "fake-model", "api_key": "k-live-0123456789abcdef", "openai_base_url": configured_server.url}
    assert configure(api_client, llm={"provider": provider, "config": section}).status_code == 200
    with FakeOpenAI() as elsewhere:
        configured_server.chat_queue.append(error(307, headers={"Location": f"{elsewhere.url}/chat/completions"}))
        response = add(api_client, "My bank PIN is 4321")
        assert not any("0123456789abcdef" in " ".join(call.headers.values()) for call in elsewhere.calls)
        assert elsewhere.calls == []
    assert response.status_code == 502
    assert "redirect (HTTP 307)" in response.json()["detail"]
