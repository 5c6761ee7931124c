"""The memories of a Mem0 Platform project (or any server speaking its API, this one included), read over that API
as import lines (exports/backup.py): what `manage.py export_from_mem0` writes.

The pages of POST /v3/memories/ (what the SDKs' get_all() calls) and, for each memory, GET /v1/memories/{id}/history/.
The API key goes to the address given and nowhere else: redirects are not followed (a proxy of the environment,
HTTPS_PROXY, is used as any HTTP client would). A rate limit (429) or a gateway's error is tried again after a pause.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from mem0server.text import mask_urls, redact_secret_echoes

# Every memory of the project: any value of any scope id (Mem0's "*").
EVERY_MEMORY = {"OR": [{"user_id": "*"}, {"agent_id": "*"}, {"app_id": "*"}, {"run_id": "*"}]}
PAGE_SIZE = 100
TIMEOUT_SECONDS = 30
# Busy or briefly down (a rate limit, a gateway): tried again, up to ATTEMPTS tries of one request.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})
ATTEMPTS = 5
LONGEST_PAUSE = 60.0
COLUMNS = ("user_id", "agent_id", "app_id", "run_id", "actor_id", "role", "expiration_date", "timestamp")
HISTORY_FIELDS = ("id", "event", "old_memory", "new_memory", "created_at", "updated_at", "actor_id", "role")


def api_key_checked(key: str, where: str) -> str:
    """The key without the whitespace around it (a key copied from a file with Windows line ends carries a carriage
    return); ValueError, not showing it, when it holds a character no key has. Sent as it was, such a key failed in
    the HTTP client, whose message showed it escaped ("…keyABCDEF123456\\r"), past the redaction of its echoes."""
    key = key.strip()
    if not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError(
            f"The key given in {where} holds a character no API key has (a space, a control character or a "
            "non-ASCII one); check it was copied whole."
        )
    return key


class Mem0ApiError(Exception):
    """The API could not be read; the message says why (the key never shown)."""


class Mem0Api:
    def __init__(self, api_url: str, api_key: str, note: Callable[[str], None]):
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.note = note
        self.http = httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Token {api_key}", "User-Agent": "mem0server-export"},
            follow_redirects=False,
            timeout=TIMEOUT_SECONDS,
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs) -> Any:
        what = f"{method} {path}"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except (httpx.TimeoutException, httpx.NetworkError) as exc:
                failed = f"{what} at {mask_urls(self.api_url)} failed: {self._masked(str(exc)) or type(exc).__name__}"
                if attempt == ATTEMPTS:
                    raise Mem0ApiError(f"{failed} ({ATTEMPTS} tries)") from None
                self._pause(attempt, failed, None)
                continue
            except httpx.HTTPError as exc:
                raise Mem0ApiError(f"{what} at {mask_urls(self.api_url)} failed: {self._masked(str(exc))}") from None
            if response.status_code not in RETRIED_STATUSES or attempt == ATTEMPTS:
                break
            self._pause(attempt, f"{what} answered {response.status_code}", response.headers.get("retry-after"))
        if response.is_redirect:
            raise Mem0ApiError(
                f"{mask_urls(self.api_url)} answered {what} with a redirect to "
                f"{mask_urls(response.headers.get('location', '?'))}; give that address as --api-url (the key is "
                "sent to the address given only)."
            )
        if response.status_code >= 400:
            raise Mem0ApiError(
                f"{mask_urls(self.api_url)} answered {what} with {response.status_code}: "
                f"{self._masked(response.text[:300])}"
            )
        try:
            return response.json()
        except ValueError:
            raise Mem0ApiError(f"{mask_urls(self.api_url)} answered {what} with something other than JSON.") from None

    def _pause(self, attempt: int, why: str, retry_after: str | None) -> None:
        """Before the next try: what Retry-After asks (in seconds), else 1, 2, 4, 8 s; at most LONGEST_PAUSE."""
        try:
            seconds = float(retry_after)
        except (TypeError, ValueError):  # none, or an HTTP date
            seconds = math.nan
        if not math.isfinite(seconds):
            seconds = 2.0 ** (attempt - 1)
        seconds = min(max(seconds, 0.0), LONGEST_PAUSE)
        self.note(f"{why}; trying again in {seconds:.0f} s.")
        time.sleep(seconds)

    def _masked(self, text: str) -> str:
        return redact_secret_echoes(text, self.api_key)

    def memories(self, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            answer = self._call(
                "POST", "/v3/memories/", params={"page": page, "page_size": PAGE_SIZE}, json={"filters": filters}
            )
            results = answer.get("results") if isinstance(answer, dict) else answer
            if not isinstance(results, list):
                raise Mem0ApiError("POST /v3/memories/ answered without a list of results.")
            yield from results
            if not results or not isinstance(answer, dict) or not answer.get("next"):
                return
            page += 1

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        path = f"/v1/memories/{quote(memory_id, safe='')}/history/"
        rows = self._call("GET", path)
        if not isinstance(rows, list):
            raise Mem0ApiError(f"GET {path} answered without a list.")
        return [{name: row.get(name) for name in HISTORY_FIELDS} for row in rows if isinstance(row, dict)]


def memory_line(item: dict[str, Any], history: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One memory of the API as export_memories writes it."""
    line = {column: item[column] for column in COLUMNS if item.get(column) is not None}
    line.update(
        id=item.get("id"),
        memory=item.get("memory"),
        metadata=item.get("metadata") or None,
        categories=item.get("categories") or [],
        created_at=item.get("created_at"),
        updated_at=item.get("updated_at") or item.get("created_at"),
    )
    # Mem0 takes `timestamp` as unix seconds, and may answer it so; an expiration date may come with a time of day.
    if isinstance(line.get("timestamp"), int | float) and not isinstance(line["timestamp"], bool):
        line["timestamp"] = datetime.fromtimestamp(line["timestamp"], tz=UTC).isoformat()
    if isinstance(line.get("expiration_date"), str) and "T" in line["expiration_date"]:
        line["expiration_date"] = line["expiration_date"].partition("T")[0]
    if history is not None:
        line["history"] = history
    return line


def mem0_api_memories(
    api: Mem0Api, *, filters: dict[str, Any], with_history: bool, known: dict[str, dict[str, Any]] | None = None
) -> Iterator[dict[str, Any]]:
    """Each memory the filters select, as a line of export_memories (a dict to write as JSON). `known`: lines an
    earlier export wrote, by memory id; a memory updated at the same time as there keeps that history, not asked
    again."""
    known = known or {}
    for item in api.memories(filters):
        if not isinstance(item, dict):
            raise Mem0ApiError("POST /v3/memories/ answered a result that is not a memory object.")
        line = memory_line(item, None)
        if with_history:
            earlier = known.get(str(line["id"]))
            unchanged = earlier is not None and earlier.get("updated_at") == line["updated_at"]
            line["history"] = earlier["history"] if unchanged else api.history(str(item.get("id")))
        yield line


def written_lines(path: Path) -> dict[str, dict[str, Any]]:
    """The lines with a history in a file an export wrote (a partial one: its last line may be cut short), by
    memory id."""
    lines = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            for text in file:
                try:
                    line = json.loads(text)
                except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's json reads
                    continue
                if isinstance(line, dict) and isinstance(line.get("id"), str) and isinstance(line.get("history"), list):
                    lines[line["id"]] = line
    except OSError:
        pass  # none (or unreadable: writing it then says why)
    return lines
