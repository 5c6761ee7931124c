"""Our prompts for the add pipeline: extract facts, decide what to change, summarise a procedure.

Each builder returns (system, user). Custom prompts replace the instructions; the reply format and
today's date are always appended, so a custom prompt cannot break the parser.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol


class Said(Protocol):
    role: str
    content: str


# At most this many characters of one earlier message are shown as context.
CONTEXT_MESSAGE_CHARS = 2000

_EXTRACT_ABOUT_USER = """\
You are the note-taker of a personal assistant. Read the conversation and write down the facts about \
the user that will still be useful in later conversations: who they are, where they live and work, \
people and pets in their life, likes and dislikes, diet and health, plans and deadlines, habits, \
opinions, and anything they ask the assistant to remember.

How to write the facts:
- One fact per item: short, specific and understandable on its own, e.g. "Is allergic to peanuts", \
"Has a daughter named Mia", "Plans to visit Lisbon in May 2026".
- Take facts from what the user says. Use the assistant's messages only to understand the user's.
- When the user corrects or withdraws something ("I'm not vegan any more"), write the new state as a fact.
- Write every fact in the language the user writes in.
- Turn relative dates ("next Friday", "last year") into real dates using today's date.
- Leave out greetings, small talk, questions without personal content and general knowledge.
- Never invent anything. If nothing is worth remembering, return an empty list."""

_EXTRACT_ABOUT_AGENT = """\
You keep the notes of an AI assistant about itself. Read the conversation and write down the facts \
about the assistant that should shape its later conversations: its name and persona, its role and \
skills, rules and preferences it was given, and commitments it made.

How to write the facts:
- One fact per item: short, specific and understandable on its own, e.g. "Answers in formal English", \
"Is named Ada", "Must not give medical advice".
- Take facts from the assistant's messages and from instructions the user gave it.
- Write every fact in the language of the conversation.
- Turn relative dates into real dates using today's date.
- Never invent anything. If nothing is worth remembering, return an empty list."""

_FACTS_FORMAT = """\
Reply with a JSON object and nothing else, in this shape: {"facts": ["first fact", "second fact"]}"""

DECIDE = """\
You keep a person's memory store accurate. You are given the memories already stored, each with a short \
id, and facts just learned from a conversation. Choose one operation for each new fact:

- ADD: the fact is new information. Give its text.
- UPDATE: the fact is about the same thing as a stored memory and refines, extends or contradicts it. \
Give the id of that memory and the complete new text that replaces it. Keep what is still true from the \
old text: "Likes cheese pizza" and the fact "Also likes pepperoni pizza" become "Likes cheese and \
pepperoni pizza"; "Lives in Berlin" and "Moved to Munich" become "Lives in Munich".
- DELETE: the fact says a stored memory is no longer true, or asks to forget it, and leaves nothing new \
to store. Give the id of that memory.
- NONE: the fact is already stored with the same meaning. Give the id of the memory that holds it.

Rules:
- Use only ids from the list of stored memories. Never make up an id. ADD has no id.
- Change each stored memory at most once.
- Keep the language of the fact."""

_DECIDE_FORMAT = """\
Reply with a JSON object and nothing else, in this shape: \
{"operations": [{"event": "ADD", "text": "..."}, {"event": "UPDATE", "id": "0", "text": "..."}, \
{"event": "DELETE", "id": "1"}, {"event": "NONE", "id": "2"}]}"""

PROCEDURAL = """\
You write the working memory of an AI agent so that it can pick up or repeat its work later. From the \
conversation, write a precise record of the task:

1. The goal, in one or two sentences.
2. Every step the agent took, in order: what it did, with which inputs, and what came back. Keep exact \
values that matter (names, numbers, URLs, file paths, commands, error messages) verbatim.
3. Decisions made and why.
4. Where the task stands now and what the next step is.

Write plain text, no preamble and no commentary."""


CATEGORIZE = """\
You file memories about a person under categories. For each memory, in the order given, choose the \
categories from the list that fit it: usually one, more when the memory is about several things. Use only \
names from the list, spelled as given. Reply with a JSON object and nothing else, in this shape: \
{"categories": [["name", ...], ...]}, with one list per memory."""

DESCRIBE_IMAGE = """\
Someone in a conversation shared this image. Describe it for a reader who cannot see it: what it shows, and any \
text in it word for word, in a few plain sentences. Reply with the description only."""

READ_PAGE = """\
This image is a scanned page of a document someone shared. Write out its text word for word, in reading order, \
a blank line between paragraphs; describe a picture or chart on it in one plain sentence. Reply with the page's \
text only."""


def _today(today: date) -> str:
    return f"Today's date is {today.isoformat()}."


def transcript(messages: Sequence[Said], *, limit: int | None = None) -> str:
    lines = []
    for message in messages:
        content = message.content.strip()
        if limit is not None:  # context: one line each, cut short
            content = " ".join(content.split())
            content = content[:limit] + " …" if len(content) > limit else content
        lines.append(f"{message.role}: {content}")
    return "\n".join(lines)


def extraction(
    *,
    messages: Sequence[Said],
    context: Sequence[Said],
    today: date,
    occurred_at: datetime | None = None,
    about_agent: bool = False,
    custom: str | None = None,
    includes: str | None = None,
    excludes: str | None = None,
) -> tuple[str, str]:
    """The fact-extraction call: instructions (default or custom) and the conversation.

    With `occurred_at` (the add's timestamp), the messages' own date is what relative dates resolve against.
    `includes` and `excludes` (a Platform add's) narrow the instructions, whichever they are.
    """
    instructions = custom or (_EXTRACT_ABOUT_AGENT if about_agent else _EXTRACT_ABOUT_USER)
    if includes:
        instructions += f"\n\nWrite down only facts about: {includes}"
    if excludes:
        instructions += f"\n\nLeave out anything about: {excludes}"
    when = _today(today)
    if occurred_at is not None:
        when += (
            f" The new messages were written on {occurred_at.date().isoformat()} ({occurred_at.strftime('%A')}):"
            " resolve relative dates in them against that date, not today's."
        )
    system = f"{instructions}\n\n{when}\n\n{_FACTS_FORMAT}"
    parts = []
    if context:
        parts.append(
            "Earlier in this conversation (context only: take no facts from it that the new messages do not "
            "state):\n" + transcript(context, limit=CONTEXT_MESSAGE_CHARS)
        )
    parts.append("New messages:\n" + transcript(messages))
    return system, "\n\n".join(parts)


def decision(*, stored: Sequence[tuple[str, str]], facts: Sequence[str], custom: str | None = None) -> tuple[str, str]:
    """The update call: stored memories as (short id, text) pairs and the new facts, as JSON."""
    system = f"{custom or DECIDE}\n\n{_DECIDE_FORMAT}"
    user = json.dumps(
        {
            "stored_memories": [{"id": short_id, "text": text} for short_id, text in stored],
            "new_facts": list(facts),
        },
        ensure_ascii=False,
    )
    return system, user


def procedural(*, messages: Sequence[Said], today: date, custom: str | None = None) -> tuple[str, str]:
    """The procedural-memory call: one summary of the whole conversation, as plain text."""
    return f"{custom or PROCEDURAL}\n\n{_today(today)}", "Conversation:\n" + transcript(messages)


def categorization(*, names: dict[str, str], memories: Sequence[str]) -> tuple[str, str]:
    """The categorisation call: the catalog (name → description) and the memories, as JSON."""
    catalog = [
        {"name": name, "description": description} if description else {"name": name}
        for name, description in names.items()
    ]
    return CATEGORIZE, json.dumps({"categories": catalog, "memories": list(memories)}, ensure_ascii=False)
