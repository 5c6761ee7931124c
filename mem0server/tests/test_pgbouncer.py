"""The server behind a real PgBouncer (mem0server/tests/pgbouncer.py), as README's Production section sets it up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.db import connections

from accounts.tests.test_bootstrap import run_bootstrap
from mem0server.tests.pgbouncer import pgbouncer

NO_TIMEOUTS = {"DB_STATEMENT_TIMEOUT_MS": "0", "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "0"}
TEXTS = ("Loves spicy Thai curry", "Works as a dentist in Berlin", "Plays the cello on Sundays")
QUERIES = {"what food does she like": TEXTS[0], "her job": TEXTS[1], "which instrument does she play": TEXTS[2]}

# Four threads search at once, each on its own pooled connection, all through one server connection of the pooler;
# halfway, the server connection loses every prepared statement (DEALLOCATE ALL, as a pooler's reset would).
SEARCHES = f"""
import json, threading
from django.db import connection
from apikeys.authentication import AdminPrincipal
from memories import selectors, services

admin = AdminPrincipal(auth_type="admin_api_key")
for text in {TEXTS!r}:
    message = services.Message(role="user", content=text)
    services.memories_add(principal=admin, messages=[message], scope={{"user_id": "alice"}}, infer=False)
answers, errors = [], []

def ask():
    try:
        for query in {list(QUERIES)!r} * 3:
            [top] = selectors.memories_search(
                principal=admin, query=query, filters={{"user_id": "alice"}}, top_k=1, threshold=0
            )
            answers.append([query, top.text])
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

for turn in range(2):
    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
print(json.dumps({{"answers": answers, "errors": errors}}))
"""


# A backup (manage.py export_memories) read in chunks (of 2 here); after its first line, another client of the
# pooler opens a transaction on the server connection the export had used. (The export's cursor, declared WITH HOLD
# outside a transaction, lived on that connection: the next chunk's FETCH failed, "cursor ... does not exist".)
BACKUP_WHILE_ANOTHER_CLIENT_WORKS = """
import io, json, os
import psycopg
from exports import backup
from memories.models import Memory

backup.EXPORT_CHUNK = 2  # three chunks
Memory.objects.bulk_create(  # stored as they are (no model loaded): a backup reads rows, not vectors
    Memory(text=f"Memory number {n}", hash=f"h{n}", user_id="zed", embedding=[0.0] * 384) for n in range(5)
)
other = psycopg.connect(os.environ["DATABASE_URL"])  # not autocommit: its first statement opens a transaction

class Out(io.StringIO):
    def write(self, line):
        other.execute("SELECT 1")
        return super().write(line)

out = Out()
backup.export_jsonl(memories=backup.memories_for_backup(scope={"user_id": "zed"}), out=out)
other.rollback()
print(json.dumps(sorted(json.loads(line)["memory"] for line in out.getvalue().splitlines())))
"""


# A key this process checked and keeps (for an hour), then revoked by another session: the process's key cache must
# hear of it and forget the key. Its listener LISTENs where DATABASE_LISTEN_URL says; through the pooler in
# transaction mode the notification never reached it.
REVOKED_ELSEWHERE = """
import json, os, time
import psycopg
from accounts.models import User
from apikeys.services import apikey_authenticate, apikey_create, key_cache

user = User.objects.create_user("listener@example.com", "correct horse battery", name="L")
_, key = apikey_create(user=user, label="bot")
assert apikey_authenticate(key=key) is not None
listening = key_cache.listener.listening.wait(60)
assert apikey_authenticate(key=key) is not None  # kept again after the listener's first clearing
with psycopg.connect(os.environ["DIRECT_URL"], autocommit=True) as other:
    other.execute("UPDATE apikeys_apikey SET revoked_at = now() WHERE user_id = %s", [user.pk])
deadline = time.monotonic() + 60
while apikey_authenticate(key=key) is not None and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"listening": listening, "forgotten": apikey_authenticate(key=key) is None}))
"""


# The dashboard in a logged-in browser (its session kept in the database) and an agent's MCP tools, through the
# pooler in transaction mode with one server connection, which the request log's writer shares.
DASHBOARD_AND_MCP = """
import json, os
from django.test import Client
from accounts.models import User

admin = User.objects.create_user(email="ops@example.com", password=None, role="admin")
browser = Client(HTTP_HOST="localhost")
browser.force_login(admin)
paths = ["/dashboard/", "/dashboard/memories/", "/dashboard/entities/", "/dashboard/requests/", "/dashboard/keys/",
         "/dashboard/users/", "/dashboard/memories/search/?query=bees&user_id=bob"]
agent = Client(HTTP_HOST="localhost", HTTP_X_API_KEY=os.environ["ADMIN_API_KEY"])

def tool(name, **arguments):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    answer = agent.post("/mcp", json.dumps(body), content_type="application/json",
                        HTTP_ACCEPT="application/json, text/event-stream").json()["result"]
    return answer.get("structuredContent") or answer["content"][0]["text"]

added = tool("add_memory", text="Keeps bees on the roof", user_id="bob", infer=False)
found = tool("search_memories", query="what does bob keep", user_id="bob")
pages = {path: browser.get(path) for path in paths}
print(json.dumps({
    "added": [memory["event"] for memory in added["results"]],
    "found": [memory["memory"] for memory in found["results"]],
    "pages": {path: page.status_code for path, page in pages.items()},
    "shown": "Keeps bees on the roof" in pages[paths[-1]].content.decode(),
}))
"""


def through(port: int, database_url: str) -> str:
    return f"postgres://{connections['default'].settings_dict['USER']}@127.0.0.1:{port}{urlsplit(database_url).path}"


def manage_shell(script: str, database_url: str, **variables: str) -> subprocess.CompletedProcess:
    """`manage.py shell -c script` in its own process on `database_url` (more environment in `variables`), sending
    no timeouts; it must succeed."""
    result = subprocess.run(  # noqa: S603  (fixed argv: this interpreter and manage.py)
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url, **NO_TIMEOUTS, **variables},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_behind_pgbouncer_the_timeouts_it_refuses_are_one_line_saying_what_to_set(tmp_path):
    with pgbouncer(connections["default"].settings_dict, tmp_path, mode="session") as port:
        # Refused before any database is reached. The pool gives up after DB_POOL_TIMEOUT; then bootstrap says why.
        error = run_bootstrap(through(port, "postgres:///mem0_none"), succeed=False, DB_POOL_TIMEOUT="1")
    assert "Traceback" not in error
    assert len(error.strip().splitlines()) == 1, error
    assert "unsupported startup parameter: options" in error  # PgBouncer's own words, not a pool's time-out
    assert "DB_STATEMENT_TIMEOUT_MS and DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: set both to 0" in error


def test_behind_pgbouncer_with_no_timeouts_sent_it_migrates_then_searches_backs_up_and_hears_revocations(
    fresh_database_url, tmp_path
):
    settings_dict = connections["default"].settings_dict
    with pgbouncer(settings_dict, tmp_path / "session", mode="session") as port:
        output = run_bootstrap(through(port, fresh_database_url), **NO_TIMEOUTS)
    assert "migrations:  applied " in output

    with pgbouncer(settings_dict, tmp_path / "transaction", mode="transaction", server_connections=1) as port:
        result = manage_shell(SEARCHES, through(port, fresh_database_url))
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["errors"] == []
    assert len(found["answers"]) == 2 * 4 * 3 * len(QUERIES)
    assert all(text == QUERIES[query] for query, text in found["answers"]), found["answers"]

    with pgbouncer(settings_dict, tmp_path / "backup", mode="transaction", server_connections=2) as port:
        result = manage_shell(BACKUP_WHILE_ANOTHER_CLIENT_WORKS, through(port, fresh_database_url))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [f"Memory number {n}" for n in range(5)]

    # The key cache listens for revocations past the pooler, on PostgreSQL itself (DATABASE_LISTEN_URL).
    with pgbouncer(settings_dict, tmp_path / "listen", mode="transaction") as port:
        result = manage_shell(
            REVOKED_ELSEWHERE,
            through(port, fresh_database_url),
            DATABASE_LISTEN_URL=fresh_database_url,
            DIRECT_URL=fresh_database_url,
            API_KEY_CACHE_SECONDS="3600",
        )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"listening": True, "forgotten": True}

    with pgbouncer(settings_dict, tmp_path / "dashboard", mode="transaction", server_connections=1) as port:
        result = manage_shell(DASHBOARD_AND_MCP, through(port, fresh_database_url), ADMIN_API_KEY="admin-key-for-mcp")
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["added"] == ["ADD"] and seen["found"] == ["Keeps bees on the roof"], seen
    assert set(seen["pages"].values()) == {200} and seen["shown"], seen


# Two adds of one scope decide through a pooler in transaction mode with one server connection: the second takes the
# scope's lock only once the first has let it go. (A session-level lock taken on the one server connection was that
# connection's, so the second add took it again at once and both decided side by side.) Each reads its scope while
# it holds the lock, as an add does, on that same one server connection.
ONE_AT_A_TIME = """
import json, threading, time
from django.db import connection
from memories.models import Memory
from memories.services import scope_decision_lock

turns, first_in = [], threading.Event()

def add(name, after=None):
    try:
        if after is not None:
            after.wait(30)
        with scope_decision_lock(None, {"user_id": "alice"}, wait=30):
            turns.append(f"{name} decides")
            Memory.objects.filter(user_id="alice").count()
            first_in.set()
            time.sleep(0.5)  # the LLM's answer
            turns.append(f"{name} wrote")
    finally:
        connection.close()

threads = [threading.Thread(target=add, args=("first",)), threading.Thread(target=add, args=("second", first_in))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(turns))
"""

# While the add holds its scope's lock, another client of the pooler opens a transaction on the other server
# connection; then the add ends. (A session-level lock was then released on the wrong server connection and stayed
# with the one that took it: later adds of the scope waited for it and answered 409.)
LOCK_AND_OTHER_CLIENT = """
import os
import psycopg
from memories.services import scope_decision_lock

other = psycopg.connect(os.environ["DATABASE_URL"])  # not autocommit: its first statement opens a transaction
with scope_decision_lock(None, {"user_id": "alice"}, wait=5):
    other.execute("SELECT 1")
other.rollback()
"""


def advisory_locks_held(database: str) -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks JOIN pg_database d ON d.oid = pg_locks.database "
            "WHERE locktype = 'advisory' AND d.datname = %s",
            [database],
        )
        return cursor.fetchone()[0]


def test_in_transaction_mode_adds_of_one_scope_decide_one_at_a_time(db, tmp_path):
    settings_dict = connections["default"].settings_dict
    with pgbouncer(settings_dict, tmp_path, mode="transaction", server_connections=1) as port:
        result = manage_shell(ONE_AT_A_TIME, through(port, f"/{settings_dict['NAME']}"))
    turns = json.loads(result.stdout.strip().splitlines()[-1])
    assert turns == ["first decides", "first wrote", "second decides", "second wrote"]


def test_in_transaction_mode_an_add_leaves_no_lock_behind_when_another_client_took_the_other_connection(db, tmp_path):
    settings_dict = connections["default"].settings_dict
    with pgbouncer(settings_dict, tmp_path, mode="transaction", server_connections=2) as port:
        manage_shell(LOCK_AND_OTHER_CLIENT, through(port, f"/{settings_dict['NAME']}"))
        assert advisory_locks_held(settings_dict["NAME"]) == 0  # PgBouncer still holds both server connections
