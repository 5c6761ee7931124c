"""What OpenMemory's SSE transport costs a tool call against Streamable HTTP, on a real server of two workers.

Starts its own server (gunicorn, GUNICORN_WORKERS=2, its own embedded PostgreSQL in a temporary folder:
mem0server/tests/server_process.py, no LLM), stores MEMORIES memories for one user, then makes CALLS search_memory
calls one after another with the `mcp` SDK's client over each of OpenMemory's URLs: Streamable HTTP
(/mcp/bench/http/<user>, each call one POST answered with its result) and SSE (/mcp/bench/sse/<user>, each call a
POST answered 202 while the result comes on the stream, through a table and a NOTIFY, from whichever worker took
the POST). Prints p50 and p95 of a call over each and the ratio SSE / HTTP.

    .venv/bin/python bench/mcp_transports.py               # 200 calls each
    .venv/bin/python bench/mcp_transports.py --calls 500
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEMORIES = 200
QUESTIONS = ("Where do I keep bees?", "What tea do I drink?", "Who is my sister?", "Which city did I move to?")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    import anyio
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client

    from mem0server.tests.server_process import ADMIN_KEY, ServerProcess

    server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env={"GUNICORN_WORKERS": "2"})
    print("starting a server of two workers (no LLM) …", flush=True)
    headers = {"X-API-Key": ADMIN_KEY}
    base = f"http://127.0.0.1:{server.port}"
    try:
        server.start()
        for i in range(MEMORIES):
            server.add("bench", f"Fact number {i}: I keep bees, drink tea, have a sister and moved cities, take {i}")

        async def calls(session: ClientSession) -> list[float]:
            await session.initialize()
            took = []
            for i in range(args.calls):
                start = time.perf_counter()
                result = await session.call_tool("search_memory", {"query": QUESTIONS[i % len(QUESTIONS)]})
                took.append(time.perf_counter() - start)
                if result.is_error:
                    raise SystemExit(f"search_memory failed: {result.content[0].text}")
            return took

        async def over_http() -> list[float]:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60) as http,
                streamable_http_client(f"{base}/mcp/bench/http/bench", http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                return await calls(session)

        async def over_sse() -> list[float]:
            async with (
                sse_client(f"{base}/mcp/bench/sse/bench", headers=headers, timeout=60) as (read, write),
                ClientSession(read, write) as session,
            ):
                return await calls(session)

        anyio.run(over_http)  # warm-up: both workers load the embedder
        anyio.run(over_sse)
        results = {"Streamable HTTP": anyio.run(over_http), "SSE": anyio.run(over_sse)}
    finally:
        server.stop()
    print(f"\nsearch_memory over {MEMORIES} memories, {args.calls} calls one after another, 2 workers")
    for name, took in results.items():
        print(f"  {name:16} p50 {statistics.median(took) * 1000:6.1f} ms   p95 {percentile(took, 0.95) * 1000:6.1f} ms")
    http, sse = results["Streamable HTTP"], results["SSE"]
    print(
        f"  SSE / HTTP       p50 {statistics.median(sse) / statistics.median(http):.2f}x   "
        f"p95 {percentile(sse, 0.95) / percentile(http, 0.95):.2f}x"
    )


if __name__ == "__main__":
    main()
