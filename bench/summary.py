"""Write bench/results/summary.md from the JSON files `make bench` leaves in bench/results/.

.venv/bin/python bench/summary.py [--results bench/results]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = ("op", "requests", "errors", "req_per_s", "p50_ms", "p95_ms", "p99_ms")
HEADER = "| op | requests | errors | req/s | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|\n"


def load_avg(values) -> str:
    return " / ".join(f"{x:.2f}" for x in values)


def table(rows: list[dict]) -> str:
    return HEADER + "".join("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |\n" for row in rows)


def client_table(rows: list[dict]) -> str:
    head = "| clients | op | requests | errors | req/s | of ceiling | p50 ms | p95 ms | p99 ms | load |\n"
    head += "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    return head + "".join(
        f"| {r['clients']} | {r['op']} | {r['requests']} | {r['errors']} | {r['req_per_s']} | "
        + (f"{r['ceiling_share']:.0%}" if "ceiling_share" in r else "-")
        + f" | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['load_1min']} |\n"
        for r in rows
    )


def read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def summary(results: Path) -> str:
    run = read(results / "run.json") or {}
    out = ["# mem0server benchmarks\n"]
    if run:
        out.append(
            f"Run {run['finished']} on commit {run['commit']}: {run['cores']} cores ({run['machine']}), "
            f"gunicorn {run['workers']} workers x {run['threads']} threads on loopback, a fresh embedded "
            f"PostgreSQL. Load average (1/5/15 min) at the start {load_avg(run['load_start'])}, at the end "
            f"{load_avg(run['load_end'])}. Client and server share the machine.\n"
        )
    if run.get("layout"):
        out.append(f"Server layout: {run['layout']}.\n")
    figures = read(results / "api_bench.json")
    if figures is None:
        out.append("## api_bench\n\nNo figures (the run stopped before or failed).\n")
    else:
        ceiling = figures.get("ceiling")
        limit = (
            f"The embedder's own ceiling, measured in-process (batches of {ceiling['batch']}, "
            f"{ceiling['torch_threads']} torch threads): **{ceiling['sentences_per_s']} sentences/s** at load "
            f"{ceiling['load_1min']}; search and add embed one sentence per request, so their req/s are also "
            "given as a share of it. "
            if ceiling
            else ""
        )
        out.append(
            f"## api_bench\n\n{figures['memories']} memories in the searched user's scope; one operation after "
            f"the other at each client count. {limit}Load average before {load_avg(figures['load_before'])}, "
            f"after {load_avg(figures['load_after'])}; the 1-minute load at the end of each row is in its last "
            f"column.\n\n{client_table(figures['results'])}"
        )
    load = read(results / "load.json")
    if load is None:
        out.append("## load\n\nNo figures (the run stopped before or failed).\n")
    else:
        check = load["consistency"]
        mix = ", ".join(f"{share}% {op}" for op, share in load["mix"].items())
        errors = "".join(f"- {kind}: {n}\n" for kind, n in sorted(load["errors"].items())) or "- none\n"
        out.append(
            f"## load\n\n{load['clients']} concurrent clients (keep-alive) on {load['users']} shared users for "
            f"{load['wall_s']} s: {mix}. Load average before {load_avg(load['load_before'])}, after "
            f"{load_avg(load['load_after'])}.\n\n{table([*load['results'], load['total']])}\n"
            f"Errors:\n\n{errors}\n"
            f"Consistency: {check['believed']} memories the clients believe exist, {check['stored']} stored; "
            f"{check['lost_writes']} lost writes, {check['phantoms']} phantoms, "
            f"{check['left_by_failed_requests']} left by failed requests.\n"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    text = summary(args.results)
    (args.results / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
