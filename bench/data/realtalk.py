"""REALTALK's chats as a bench/recall.py dataset: real conversations, scored with questions we did not write.

    git clone https://github.com/danny911kr/REALTALK /tmp/REALTALK
    .venv/bin/python bench/data/realtalk.py /tmp/REALTALK /tmp/realtalk.json
    .venv/bin/python bench/recall.py --data /tmp/realtalk.json --timestamps

REALTALK (Lee et al., 2025) is ten 21-day messaging chats between real people: 8,944 messages in 219 sessions
and 679 questions with the messages that answer them. Only its own chats are read (`data/Chat_<n>_*.json`;
that repository also carries a copy of another benchmark in `data/locomo/`, which this never opens). Nothing
of it is committed here: fetch it yourself and check its terms.

Each message becomes one turn (its id `rt<n>:<dia_id>`, the repository's own ids, unique within a chat), each
session keeps its start time as `date`, and each question keeps its evidence and category (1, 2, 3 as there);
a question whose evidence names no message of the chat is left out. Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

CHAT = re.compile(r"Chat_(\d+)_.+\.json")


def conversation(path: Path, number: str) -> tuple[dict, list[dict]]:
    chat = json.loads(path.read_text())
    cid = f"rt{number}"
    sessions, turn_ids = [], set()
    index = 1
    while f"session_{index}" in chat:
        # Local times of unnamed zones, kept as they read (as UTC, which the harness sends on).
        started = datetime.strptime(chat[f"session_{index}_date_time"], "%d.%m.%Y, %H:%M:%S").replace(tzinfo=UTC)
        turns = []
        for message in chat[f"session_{index}"]:
            turn_id = f"{cid}:{message['dia_id']}"
            text = (message.get("clean_text") or "").strip()
            if turn_id in turn_ids or not text:
                continue
            turn_ids.add(turn_id)
            turns.append({"id": turn_id, "speaker": message["speaker"], "text": text})
        sessions.append({"id": f"{cid}s{index}", "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"), "turns": turns})
        index += 1
    questions = []
    for number_in_chat, qa in enumerate(chat.get("qa", []), start=1):
        evidence = [f"{cid}:{e}" for e in qa.get("evidence", []) if f"{cid}:{e}" in turn_ids]
        if evidence:
            questions.append(
                {
                    "id": f"{cid}q{number_in_chat}",
                    "conversation": cid,
                    "question": qa["question"],
                    "evidence": evidence,
                    "category": str(qa.get("category")),
                }
            )
    return {"id": cid, "speakers": list(chat["name"].values()), "sessions": sessions}, questions


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} REALTALK_CHECKOUT OUTPUT.json")
    chats = sorted(
        ((match[1], path) for path in (Path(sys.argv[1]) / "data").iterdir() if (match := CHAT.fullmatch(path.name))),
        key=lambda item: int(item[0]),
    )
    if not chats:
        sys.exit(f"no data/Chat_<n>_*.json in {sys.argv[1]}: is it a checkout of REALTALK?")
    dataset: dict[str, list] = {"conversations": [], "questions": []}
    for number, path in chats:
        chat, questions = conversation(path, number)
        dataset["conversations"].append(chat)
        dataset["questions"].extend(questions)
    Path(sys.argv[2]).write_text(json.dumps(dataset))
    turns = sum(len(s["turns"]) for c in dataset["conversations"] for s in c["sessions"])
    print(f"{len(chats)} chats, {turns} turns, {len(dataset['questions'])} questions -> {sys.argv[2]}")


if __name__ == "__main__":
    main()
