"""Checking that the configured LLM and embedder answer (the dashboard's "test connection")."""

from __future__ import annotations

from dataclasses import dataclass

from mem0server.exceptions import DomainError
from memories.configuration import Runtime, server_config_current
from memories.vision import RED_PIXEL, image_description

# The model errors are written for a write they stopped ("…; nothing was stored. Check …"); a test stores nothing.
WRITE_STOPPED = "; nothing was stored"


def _failure(exc: DomainError) -> str:
    """What a failed check says: the model error, without the add's "nothing was stored"."""
    return exc.detail.replace(WRITE_STOPPED, "")


@dataclass(frozen=True)
class ConnectionCheck:
    part: str  # "embedder" or "llm"
    ok: bool
    message: str


def models_check_connection(runtime: Runtime | None = None) -> list[ConnectionCheck]:
    """Embed one short text and, if an LLM is configured, ask it for one short reply (and, when it describes images,
    to describe one); never raises. `runtime`: a configuration tried before it is saved; default, the one in force."""
    runtime = runtime or server_config_current()
    checks = []
    try:
        vector = runtime.usable_embedder().embed(["connection test"])[0]
        checks.append(ConnectionCheck("embedder", True, f"{runtime.embedder.name}: answered ({len(vector)} dims)."))
    except DomainError as exc:
        checks.append(ConnectionCheck("embedder", False, _failure(exc)))
    client = runtime.llm.client
    if client is None:
        checks.append(ConnectionCheck("llm", False, f"No LLM configured ({runtime.llm.missing})."))
        return checks
    try:
        reply = client.complete_text(system="Reply with the single word OK.", user="ping")
        checks.append(ConnectionCheck("llm", True, f"{client.describe()}: answered {reply[:40]!r}."))
    except DomainError as exc:
        checks.append(ConnectionCheck("llm", False, _failure(exc)))
        return checks
    if client.vision_details is not None:  # images described: the model must read one
        try:
            said = image_description(client, RED_PIXEL)
            checks.append(ConnectionCheck("images", True, f"described a one-pixel image: {said[:60]!r}."))
        except DomainError as exc:
            checks.append(ConnectionCheck("images", False, _failure(exc)))
    return checks
