"""The Platform's memory categories: an inferred memory is tagged with names from its project's
`custom_categories`, or from the default list, by one more LLM call after the add's decisions.

Only Platform adds with inference ask for it (platform_api.services.memories_add_payload passes a catalog);
memories stored as given, and OSS adds, have none. A failing categorisation call never fails the add: the
memories are stored without categories and the reason is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from mem0server.exceptions import UpstreamError
from memories import prompts
from memories.llm import MalformedReply

logger = logging.getLogger(__name__)

# Mem0's default categories, with descriptions of our own.
DEFAULTS: dict[str, str] = {
    "personal_details": "name, age, where one lives, contact details, languages",
    "family": "relatives, partners, children, pets and the relationships with them",
    "professional_details": "job, employer, role, skills, career and work habits",
    "sports": "sports played or followed, teams, fitness",
    "travel": "trips, destinations, places visited or planned, transport preferences",
    "food": "dishes, diets, allergies, restaurants and drinks",
    "music": "artists, genres, instruments, concerts",
    "health": "conditions, medication, wellbeing, medical appointments",
    "technology": "devices, software, programming and tools",
    "hobbies": "pastimes and interests outside work",
    "fashion": "clothing, style and brands",
    "entertainment": "films, series, books, games and events",
    "milestones": "life events and achievements, with their dates",
    "user_preferences": "likes, dislikes and how one wants things done",
    "misc": "anything that fits no other category",
}
# Names longer than the column, and catalogs beyond this many names, are not shown to the LLM.
MAX_NAME = 100
MAX_CATALOG = 100
MAX_PER_MEMORY = 5


def catalog(custom: list[Any] | None) -> dict[str, str]:
    """Category name → description: the project's custom_categories (names, or {name: description} objects),
    the first MAX_CATALOG of them; the defaults when it has none."""
    names: dict[str, str] = {}
    for item in custom or ():
        pairs = [(item, "")] if isinstance(item, str) else list(item.items()) if isinstance(item, dict) else []
        for name, description in pairs:
            name = " ".join(str(name).split())
            if name and len(name) <= MAX_NAME and name not in names and len(names) < MAX_CATALOG:
                names[name] = " ".join(str(description or "").split())[:300]
    return names or dict(DEFAULTS)


def parse_categories(payload: Any, *, count: int, names: dict[str, str]) -> list[list[str]]:
    """{"categories": [[name, …] for each memory, in order]}: names outside the catalog are dropped (matched
    without regard to case), at most MAX_PER_MEMORY each."""
    items = payload.get("categories") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise MalformedReply('expected {"categories": [[...], ...]}')
    known = {name.casefold(): name for name in names}
    tags = []
    for item in (items + [[]] * count)[:count]:
        chosen = [known.get(str(name).strip().casefold()) for name in (item if isinstance(item, list) else [])]
        tags.append(list(dict.fromkeys(name for name in chosen if name))[:MAX_PER_MEMORY])
    return tags


def categorize(llm, texts: list[str], names: dict[str, str]) -> dict[str, list[str]]:
    """Each memory text → its categories; {} when the LLM fails (logged: the add goes on without them)."""
    if not texts:
        return {}
    system, user = prompts.categorization(names=names, memories=texts)
    try:
        tags = llm.complete_json(
            system=system, user=user, parse=lambda payload: parse_categories(payload, count=len(texts), names=names)
        )
    except UpstreamError as exc:
        logger.warning("memories stored without categories: the LLM could not categorise them (%s)", exc.detail)
        return {}
    return dict(zip(texts, tags, strict=True))
