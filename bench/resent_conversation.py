"""What a conversation costs when its client sends the whole conversation so far with each turn, as Pipecat's Mem0
memory service does, against a client that sends only the turn's new messages.

Starts its own server (gunicorn, one worker, its own embedded PostgreSQL in a temporary folder:
mem0server/tests/server_process.py, no LLM) and plays one conversation of EXCHANGES exchanges (the turns of
bench/data/dialogues.json) twice, in two scopes:
each turn an add with infer=true (POST /memories, answered when stored) of the conversation so far (re-sent), or of
the turn's user message and the reply before it (new only). Prints how long a turn's add took at a few points of the
conversation, and all of them together, with the ratio re-sent / new only.

    .venv/bin/python bench/resent_conversation.py                 # 250 exchanges
    .venv/bin/python bench/resent_conversation.py --exchanges 500
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DIALOGUES = Path(__file__).parent / "data" / "dialogues.json"


def turns() -> list[str]:
    """The turns of bench/data's conversations one after another: the user says one, the assistant the next."""
    conversations = json.loads(DIALOGUES.read_text())["conversations"]
    return [turn["text"] for c in conversations for session in c["sessions"] for turn in session["turns"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=250)
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mem0server.settings")
    django.setup()
    from mem0server.tests.server_process import ServerProcess

    server = ServerProcess(Path(tempfile.mkdtemp(prefix="mem0-bench-")), env={})
    print("starting a server (no LLM) …", flush=True)
    server.start()
    marks = sorted({1, 10, 50, 100, 250, 500, args.exchanges} & set(range(1, args.exchanges + 1)))
    try:
        server.add("warm-up", "Warm-up: likes tea")
        said = turns()
        if len(said) < 2 * args.exchanges:
            raise SystemExit(f"{DIALOGUES} holds {len(said) // 2} exchanges")
        totals: dict[str, float] = {}
        at: dict[str, dict[int, float]] = {}
        for mode in ("new only", "re-sent"):
            conversation: list[dict[str, str]] = []
            totals[mode], at[mode] = 0.0, {}
            for turn in range(1, args.exchanges + 1):
                new = [{"role": "user", "content": said[2 * turn - 2]}]
                body_messages = [*conversation, *new] if mode == "re-sent" else [*conversation[-1:], *new]
                body = {"messages": body_messages, "user_id": mode.replace(" ", "-"), "infer": True}
                response = server.call("POST", "/memories", body, timeout=600)
                if response.status != 200:
                    raise SystemExit(f"turn {turn} ({mode}): {response}")
                totals[mode] += response.elapsed
                if turn in marks:
                    at[mode][turn] = response.elapsed
                conversation += [*new, {"role": "assistant", "content": said[2 * turn - 1]}]
        print(f"\none conversation of {args.exchanges} exchanges, infer=true without an LLM, one client:")
        print(f"  {'turn':>6} {'new only':>12} {'re-sent':>12} {'ratio':>7}")
        for turn in marks:
            new_only, resent = at["new only"][turn], at["re-sent"][turn]
            print(f"  {turn:>6} {new_only * 1000:>9.1f} ms {resent * 1000:>9.1f} ms {resent / new_only:>6.1f}x")
        ratio = totals["re-sent"] / totals["new only"]
        print(f"  {'all':>6} {totals['new only']:>10.2f} s {totals['re-sent']:>10.2f} s {ratio:>6.1f}x")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
