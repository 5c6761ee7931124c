"""The server's model configuration: environment defaults, overrides stored by POST /configure, and the
snapshot each process builds from them (LLM client, embedder).

Every process keeps a snapshot and, on the first use in each request, compares its version with the
stored row (one primary-key read), so a change made through any worker applies to all of them.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from mem0server.exceptions import Conflict, InvalidInput
from mem0server.text import REDACTED, holds_secret, is_connection_string, is_secret, mask_url_value, mask_urls
from memories.embeddings import Embedder, OpenAIEmbedder, local_embedder
from memories.llm import LLMClient
from memories.models import Memory, MemorySentence, ServerConfig
from memories.providers import (
    DEFAULT_EMBEDDER_MODEL,
    EMBEDDER_PROVIDERS,
    KNOWN_EMBEDDING_DIMS,
    LLM_PROVIDERS,
    LOCAL_EMBEDDER_DIMS,
    LOCAL_EMBEDDER_MODEL,
    RERANKERS,
    VECTOR_STORES,
)

logger = logging.getLogger("mem0server")

# Sections with a provider: naming another provider replaces the section instead of merging into it.
SECTIONS = ("llm", "embedder", "vector_store", "reranker", "graph_store")
LLM_DEFAULTS = {"temperature": 0.1, "max_tokens": 2000}
HOW_TO_TURN_ON = (
    "To turn it on, set OPENAI_API_KEY (OpenAI), or OPENAI_BASE_URL and LLM_MODEL (Ollama, vLLM, LM Studio …), "
    'or POST /configure {"llm": {"provider": "openai", "config": {"api_key": "…", "model": "gpt-4.1-mini"}}}.'
)

# False inside configuration_checked_once() until the request or job has compared its snapshot with the database.
request_checked: contextvars.ContextVar[bool | None] = contextvars.ContextVar("config_checked", default=None)


@contextlib.contextmanager
def configuration_checked_once() -> Iterator[None]:
    """Around a request or a background job: its first use of the configuration compares this process's snapshot
    with the stored one (one indexed read), so a change made through POST /configure in another process (a web
    worker, for a job worker started before it) applies. Outside one, the snapshot is used as it is."""
    token = request_checked.set(False)
    try:
        yield
    finally:
        request_checked.reset(token)


# --- the configuration as data --------------------------------------------------------------------------


def config_defaults() -> dict[str, Any]:
    """The configuration the environment describes (settings.py reads it)."""
    provider = LLM_PROVIDERS[settings.LLM_PROVIDER]
    llm_config = {
        "model": settings.LLM_MODEL or provider.default_model,
        "api_key": settings.OPENAI_API_KEY or None,
        "openai_base_url": settings.OPENAI_BASE_URL or None,
        **LLM_DEFAULTS,
        "timeout": settings.LLM_TIMEOUT,
        "enable_vision": settings.LLM_VISION,
        "vision_details": "auto",
    }
    if settings.EMBEDDER == "local":
        embedder_config: dict[str, Any] = {"model": LOCAL_EMBEDDER_MODEL, "embedding_dims": LOCAL_EMBEDDER_DIMS}
    else:
        model = settings.EMBEDDER_MODEL or DEFAULT_EMBEDDER_MODEL
        embedder_config = {
            "model": model,
            "api_key": settings.OPENAI_API_KEY or None,
            "openai_base_url": settings.OPENAI_BASE_URL or None,
            "embedding_dims": settings.EMBEDDER_DIMS or KNOWN_EMBEDDING_DIMS.get(model),
            "timeout": settings.LLM_TIMEOUT,
        }
    return {
        "version": "v1.1",
        "llm": {"provider": settings.LLM_PROVIDER, "config": llm_config},
        "embedder": {"provider": settings.EMBEDDER, "config": embedder_config},
        "vector_store": {"provider": "pgvector", "config": {}},
        "reranker": None,
        "graph_store": None,
        "custom_fact_extraction_prompt": None,
        "custom_update_memory_prompt": None,
        "history_db_path": None,
    }


def config_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` deep-merged into a copy of `base`. A section naming a new provider starts afresh, and a
    secret posted back as "[redacted]" keeps its current value."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        current = result.get(key)
        if value == REDACTED and (is_secret(key) or is_connection_string(key)):
            continue
        new_provider = isinstance(value, dict) and value.get("provider") not in (None, (current or {}).get("provider"))
        if isinstance(value, dict) and isinstance(current, dict) and not (key in SECTIONS and new_provider):
            result[key] = config_merge(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def config_redacted(value: Any, key: str = "") -> Any:
    """A copy with every secret-named value replaced by "[redacted]" (a list or an object of them whole), and
    credentials and query values in URLs masked."""
    if value not in (None, "", [], {}) and holds_secret(key, value):
        return REDACTED
    if isinstance(value, dict):
        return {k: config_redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [config_redacted(v) for v in value]
    if value is None or value == "":
        return value
    if holds_secret(key, value):
        return REDACTED
    if isinstance(value, str) and "://" in value:
        return mask_url_value(value)
    return value


def config_unmasked(changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` with each URL given back as it is shown (credentials and query values masked by
    config_redacted) put back to the URL in force it stands for: a form saved as shown must not store
    "[redacted]" inside a URL, nor move the base URL away from its key. A URL setting shown masked that stands for
    none in force (changed since it was read: another admin, another tab) is refused, InvalidInput naming it."""
    return _unmasked(changes, server_config_current().config, "")


def _unmasked(value: Any, current: Any, path: str) -> Any:
    if isinstance(value, dict):
        within = current if isinstance(current, dict) else {}
        return {k: _unmasked(v, within.get(k), f"{path}.{k}" if path else k) for k, v in value.items()}
    if not isinstance(value, str) or REDACTED not in value or value == current:
        return value
    if isinstance(current, str) and "://" in current and mask_url_value(current) == value:
        return current
    setting = path.rpartition(".")[2]
    if "://" in value and (setting.endswith("url") or is_connection_string(setting)):
        # Stored as shown, "[redacted]" would go to the provider as the URL's password or query value.
        raise InvalidInput(
            f"{path}: {value} was shown masked and no longer stands for the URL in force, changed since it was read; "
            "nothing was saved. Give the URL in full.",
            field=path,
        )
    return value


def config_effective(overrides: dict[str, Any]) -> dict[str, Any]:
    """The environment's configuration with the stored overrides merged in, where a key and its base URL
    come from the same place.

    A key set through /configure goes only to a base URL set through /configure (or the provider's own
    default), never to OPENAI_BASE_URL from the environment; the environment's OPENAI_API_KEY goes only to
    OPENAI_BASE_URL (or the provider's default), never to a base URL set through /configure. So changing the
    provider or the key cannot send a key to a host nobody named for it.
    """
    defaults = config_defaults()
    config = config_merge(defaults, overrides)
    for section in ("llm", "embedder"):
        stored = (overrides.get(section) or {}).get("config") or {}
        effective = (config.get(section) or {}).get("config")
        if effective is None:
            continue
        default_url = ((defaults.get(section) or {}).get("config") or {}).get("openai_base_url")
        if stored.get("api_key") and "openai_base_url" not in stored:
            effective["openai_base_url"] = None
        elif "openai_base_url" in stored and "api_key" not in stored and stored["openai_base_url"] != default_url:
            effective["api_key"] = None
    return config


# --- from configuration to working objects ----------------------------------------------------------------


@dataclass(frozen=True)
class LLMChoice:
    client: LLMClient | None
    # Why there is no client, naming the config key to set.
    missing: str | None = None


def _llm_from(section: dict[str, Any] | None) -> LLMChoice:
    if not section:
        return LLMChoice(None, "llm: no LLM is configured")
    provider_name = section.get("provider")
    if provider_name not in LLM_PROVIDERS:
        return LLMChoice(None, "llm.provider: not set")
    provider = LLM_PROVIDERS[provider_name]
    config = section.get("config") or {}
    base_url = config.get("openai_base_url") or provider.base_url
    if base_url is None:
        return LLMChoice(None, f"llm.config.openai_base_url: required for provider {provider_name}")
    if provider.needs_api_key and not config.get("api_key") and not config.get("openai_base_url"):
        return LLMChoice(None, f"llm.config.api_key: required for provider {provider_name}")
    model = config.get("model") or provider.default_model
    if not model:
        return LLMChoice(None, f"llm.config.model: required for provider {provider_name}")
    json_mode = config.get("json_mode")
    client = LLMClient(
        provider=provider_name,
        model=model,
        base_url=base_url,
        api_key=config.get("api_key"),
        timeout=float(config.get("timeout") or settings.LLM_TIMEOUT),
        temperature=config.get("temperature"),
        max_tokens=config.get("max_tokens"),
        top_p=config.get("top_p"),
        json_mode=provider.json_mode if json_mode is None else json_mode,
        vision_details=(config.get("vision_details") or "auto") if vision_enabled(config) else None,
    )
    return LLMChoice(client)


def vision_enabled(config: dict[str, Any]) -> bool:
    """Whether the LLM describes images, from its section's config: as it says, else LLM_VISION (a section naming a
    new provider starts afresh, and must not turn off what the environment turned on)."""
    enabled = config.get("enable_vision")
    return settings.LLM_VISION if enabled is None else bool(enabled)


def _embedder_problem(section: dict[str, Any]) -> str | None:
    """What keeps this embedder section from working, naming the key; None when it is complete."""
    provider_name = section.get("provider")
    config = section.get("config") or {}
    if provider_name not in EMBEDDER_PROVIDERS:
        return "embedder.provider: not set"
    if provider_name == "local":
        if config.get("model") not in (None, LOCAL_EMBEDDER_MODEL, f"sentence-transformers/{LOCAL_EMBEDDER_MODEL}"):
            return f"embedder.config.model: the local embedder runs {LOCAL_EMBEDDER_MODEL} only"
        if config.get("embedding_dims") not in (None, LOCAL_EMBEDDER_DIMS):
            return f"embedder.config.embedding_dims: the local embedder makes {LOCAL_EMBEDDER_DIMS} dimensions"
        return None
    provider = LLM_PROVIDERS[provider_name]
    if provider.base_url is None and not config.get("openai_base_url"):
        return f"embedder.config.openai_base_url: required for provider {provider_name}"
    if provider.needs_api_key and not config.get("api_key") and not config.get("openai_base_url"):
        return f"embedder.config.api_key: required for provider {provider_name}"
    model = config.get("model") or (DEFAULT_EMBEDDER_MODEL if provider_name in ("openai", "azure_openai") else None)
    if not model:
        return f"embedder.config.model: required for provider {provider_name}"
    if not (config.get("embedding_dims") or KNOWN_EMBEDDING_DIMS.get(model)):
        return f"embedder.config.embedding_dims: required for model {model}"
    return None


def _embedder_from(section: dict[str, Any]) -> tuple[str, Embedder]:
    provider_name = section["provider"]
    if provider_name == "local":
        return "local", local_embedder()
    config = section.get("config") or {}
    model = config.get("model") or DEFAULT_EMBEDDER_MODEL
    return provider_name, OpenAIEmbedder(
        provider=provider_name,
        model=model,
        dims=int(config.get("embedding_dims") or KNOWN_EMBEDDING_DIMS[model]),
        base_url=config.get("openai_base_url") or LLM_PROVIDERS[provider_name].base_url,
        api_key=config.get("api_key"),
        timeout=float(config.get("timeout") or settings.LLM_TIMEOUT),
    )


@dataclass
class Runtime:
    """One process's working copy of the configuration."""

    version: int
    stamp: datetime | None
    config: dict[str, Any]
    # What POST /configure stored (empty: the environment alone).
    overrides: dict[str, Any]
    llm: LLMChoice
    embedder_provider: str
    embedder: Embedder
    # Set when the embedder's vector size differs from the stored vectors' (a 409 on every embedding).
    dims_conflict: str | None = None
    column_checked: bool = False

    def usable_embedder(self) -> Embedder:
        if self.dims_conflict:
            raise Conflict(self.dims_conflict)
        return self.embedder

    def prompt(self, name: str) -> str | None:
        return self.config.get(name) or None


def _build(overrides: dict[str, Any], *, version: int, stamp: datetime | None) -> Runtime:
    config = config_effective(overrides)
    provider, embedder = _embedder_from(config["embedder"])
    return Runtime(
        version=version,
        stamp=stamp,
        config=config,
        overrides=overrides,
        llm=_llm_from(config.get("llm")),
        embedder_provider=provider,
        embedder=embedder,
    )


_runtime: Runtime | None = None


def server_config_current() -> Runtime:
    """The configuration in force; compared with the database once per request (no query outside one)."""
    global _runtime
    if request_checked.get() is False:
        request_checked.set(True)
        return server_config_refresh()
    return server_config_snapshot()


def server_config_snapshot() -> Runtime:
    """This process's configuration as last read, without touching the database (health checks)."""
    global _runtime
    if _runtime is None:
        _runtime = _build({}, version=0, stamp=None)
    return _runtime


_VERSION_SQL = f"SELECT version, updated_at FROM {ServerConfig._meta.db_table} WHERE id = 1"  # noqa: S608


def server_config_refresh() -> Runtime:
    """Reload the snapshot if another process changed the stored configuration (one indexed read)."""
    global _runtime
    current = _runtime or _build({}, version=0, stamp=None)
    # Every request runs this: a fixed statement, without the ORM's query building (0.13 ms against 0.52).
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        version, stamp = cursor.fetchone() or (0, None)
    if (version, stamp) != (current.version, current.stamp):
        overrides = ServerConfig.objects.filter(pk=1).values_list("config", flat=True).first() or {}
        current = _build(overrides, version=version, stamp=stamp)
    if not current.column_checked or current.dims_conflict:
        # A conflict is looked at again on each request (two cheap reads while it lasts): once the store is emptied
        # (POST /reset, here or in another process) or resized by another process, it ends without a restart.
        current.dims_conflict = _fit_vector_column(current.embedder.dims, raise_conflict=False)
        current.column_checked = True
    _runtime = current
    return current


def server_config_forget() -> None:
    """Drop this process's snapshot (tests, after their transaction rolled the stored one back)."""
    global _runtime
    _runtime = None


# --- the vector column ---------------------------------------------------------------------------------


def vector_column_dims(model: type[Memory] | type[MemorySentence] = Memory) -> int:
    """The size of the stored vectors (pgvector keeps it as the column's type modifier)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'embedding'",
            [model._meta.db_table],
        )
        return int(cursor.fetchone()[0])


def _fit_vector_column(dims: int, *, raise_conflict: bool) -> str | None:
    """Resize the vector column to `dims` while no memory exists; otherwise say (or raise) why not."""
    current = vector_column_dims()
    if current == dims:
        _fit_sentence_column(dims)
        return None
    table = connection.ops.quote_name(Memory._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        # Nobody may add a memory between the emptiness check and the change; a store that holds memories is told
        # apart first without the lock, which would stop every reader of the table.
        if not Memory.objects.exists():
            cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        if Memory.objects.exists():
            message = _dims_conflict(dims, current)
            if raise_conflict:
                raise Conflict(message)
            return message
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({int(dims)})")
        _fit_sentence_column(dims)  # empty with the memories
    logger.warning("vector column resized from %d to %d dimensions (the store was empty)", current, dims)
    return None


def _dims_conflict(dims: int, current: int) -> str:
    return (
        f"The embedder makes {dims}-dimensional vectors, but the stored memories have {current}. Changing the "
        "embedding size needs an empty store: keep the previous embedder, or POST /reset (deletes every memory; "
        "`manage.py export_memories` first, and `manage.py import_memories` after, re-embeds them with the new one)."
    )


def _fit_sentence_column(dims: int) -> None:
    """Give the sentence vectors the memories' size. Migration 0014 creates their column 384 wide whatever size
    the memories' column was resized to before, and no sentence of another size would fit it. Sentence vectors of
    another size match no query: they go (`manage.py reembed_memories --all` embeds them again)."""
    if vector_column_dims(MemorySentence) == dims:
        return
    table = connection.ops.quote_name(MemorySentence._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        current = vector_column_dims(MemorySentence)
        if current == dims:  # another process fitted it while this one waited for the lock
            return
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a quoted table name)
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({int(dims)})")
    logger.warning("sentence vector column resized from %d to %d dimensions", current, dims)


# --- POST and GET /configure ------------------------------------------------------------------------------


class ConfigChanged(Conflict):
    """The configuration in force is not the version a change was made from (another admin saved since)."""


def _check_complete(config: dict[str, Any], changes: dict[str, Any]) -> None:
    """Refuse a configuration that cannot work, naming the key; only sections the change touched."""
    problem = None
    if "llm" in changes and config.get("llm") is not None:
        problem = _llm_from(config["llm"]).missing
    if problem is None and "embedder" in changes:
        problem = _embedder_problem(config["embedder"])
    store_dims = (config["vector_store"].get("config") or {}).get("embedding_model_dims")
    if problem is None and store_dims is not None:
        dims = _embedder_from(config["embedder"])[1].dims
        if type(store_dims) is not int:  # "384" read "384 differs from the embedder's 384"
            problem = f"vector_store.config.embedding_model_dims: must be a whole number, not {store_dims!r}"
        elif store_dims != dims:
            problem = f"vector_store.config.embedding_model_dims: {store_dims} differs from the embedder's {dims}"
    if problem:
        raise InvalidInput(f"Invalid configuration: {problem}. Nothing was changed.")


def _keys_stay_behind(stored: dict[str, Any], changes: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """`merged` without the stored key of a section whose base URL the change moves without sending a key:
    a stored key is never shown again, so moving only the URL would have sent it to a host of the caller's
    choosing (posting the key back as "[redacted]" is not sending it)."""
    for section in ("llm", "embedder"):
        changed = (changes.get(section) or {}).get("config") or {}
        before = (stored.get(section) or {}).get("config") or {}
        after = (merged.get(section) or {}).get("config")
        moved = "openai_base_url" in changed and changed["openai_base_url"] != before.get("openai_base_url")
        if moved and changed.get("api_key") in (None, REDACTED) and after:
            after.pop("api_key", None)
    return merged


def server_config_set(*, changes: dict[str, Any], version: int | None = None) -> Runtime:
    """Deep-merge validated changes into the stored overrides, check the result, resize the vector column
    if the embedding size changes (only while no memory exists: 409 otherwise), and bump the version.
    `version`: the one the changes were made from (the dashboard's form, which sends every field); another in force
    is ConfigChanged, nothing stored. None (POST /configure, a merge of what it sends) checks nothing."""
    return _store(lambda stored: _merged(stored, changes), changes, version=version)


def server_config_tried(*, changes: dict[str, Any]) -> Runtime:
    """The configuration validated changes would make, checked as server_config_set checks it but neither stored nor
    put in force: what the dashboard's connection test tries before a form is saved."""
    stored = ServerConfig.objects.filter(pk=1).values_list("config", flat=True).first() or {}
    overrides = _merged(stored, changes)
    _check_complete(config_effective(overrides), changes)
    runtime = _build(overrides, version=0, stamp=None)
    current = vector_column_dims()
    if runtime.embedder.dims != current and Memory.objects.exists():  # saving it would be a 409
        runtime.dims_conflict = _dims_conflict(runtime.embedder.dims, current)
    return runtime


def _merged(stored: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return _keys_stay_behind(stored, changes, config_merge(stored, changes))


def server_config_clear() -> Runtime:
    """Forget what POST /configure stored: the environment's settings apply again, in every process (the
    vector column as in server_config_set: 409 if the environment's embedder has another size and memories exist)."""
    return _store(lambda stored: {}, {})  # the environment's settings are the server's own: nothing to refuse


def _store(overrides_of, changes: dict[str, Any], *, version: int | None = None) -> Runtime:
    global _runtime
    with transaction.atomic():
        row, _ = ServerConfig.objects.select_for_update().get_or_create(pk=1)
        if version is not None and row.version != version:
            raise ConfigChanged(
                f"The configuration was changed since version {version} was read (version {row.version} is in "
                "force); nothing was saved."
            )
        overrides = overrides_of(row.config)
        _check_complete(config_effective(overrides), changes)
        runtime = _build(overrides, version=row.version + 1, stamp=None)
        _fit_vector_column(runtime.embedder.dims, raise_conflict=True)
        row.config, row.version = overrides, row.version + 1
        row.save()
    runtime.stamp, runtime.column_checked = row.updated_at, True
    _runtime = runtime
    logger.info(
        "configuration v%d set: llm %s, embedder %s",
        row.version,
        describe_llm(runtime),
        mask_urls(runtime.embedder.name),
    )
    return runtime


def describe_llm(runtime: Runtime) -> str:
    if runtime.llm.client is None:
        return f"none configured, inference is off ({runtime.llm.missing})"
    return runtime.llm.client.describe()


def describe_stored(runtime: Runtime) -> str | None:
    """What POST /configure stored, secrets masked, for the startup log; None when nothing is stored (never
    configured, or forgotten by DELETE /configure, which keeps the row's version and empties it)."""
    if not runtime.version or not runtime.overrides:
        return None
    parts = []
    for section, value in runtime.overrides.items():
        if value is None:
            parts.append(f"{section} turned off")
        elif isinstance(value, dict) and section in SECTIONS:
            shown = config_redacted(value.get("config") or {})
            parts.append(f"{section} {value.get('provider') or '(provider unchanged)'} {shown}")
        else:
            parts.append(f"{section} set")
    return (
        f"configuration v{runtime.version} stored through POST /configure, in force over the environment's settings "
        "(DELETE /configure returns to them): " + ("; ".join(parts) or "no changes")
    )


def describe_llm_at_start(runtime: Runtime) -> str:
    """The LLM in force, or why not, saying whether the stored configuration is the reason."""
    if runtime.llm.client is not None:
        return f"{runtime.llm.client.describe()}, inference is on{_images(runtime.llm.client)}"
    if "llm" not in runtime.overrides:
        why = f"none configured ({runtime.llm.missing})"
    elif runtime.overrides["llm"] is None:
        why = (
            f"turned off through POST /configure (configuration v{runtime.version}; DELETE /configure returns to the "
            "environment's settings)"
        )
    else:
        why = (
            f"the LLM stored through POST /configure (configuration v{runtime.version}) is not in force: "
            f"{runtime.llm.missing}; fix it with POST /configure"
        )
    return f"{why}; inference is off: infer=true stores messages as given, skipping near-duplicates. {HOW_TO_TURN_ON}"


def inference_status(runtime: Runtime) -> str:
    if runtime.llm.client is None:
        return (
            f"Inference is off ({runtime.llm.missing}): infer=true stores messages as given, skipping "
            f"near-duplicates. {HOW_TO_TURN_ON}"
        )
    client = runtime.llm.client
    return f"Inference is on: facts are extracted and reconciled by {client.describe()}{_images(client)}."


def _images(client: LLMClient) -> str:
    return ", which also describes images (enable_vision)" if client.vision_details else ""


def server_config_get(*, fresh: bool = False) -> dict[str, Any]:
    """The configuration in force, secrets redacted, with its version and what it means; `fresh`: read again from the
    database, not as this request first read it (a change refused as made from an older version shows the newer)."""
    runtime = server_config_refresh() if fresh else server_config_current()
    embedder = f"{runtime.embedder_provider}: {mask_urls(runtime.embedder.name)}"
    return {
        **config_redacted(runtime.config),
        "config_version": runtime.version,
        "status": {
            "inference_enabled": runtime.llm.client is not None,
            "inference": inference_status(runtime),
            "embedder": f"{embedder}. {runtime.dims_conflict}" if runtime.dims_conflict else embedder,
        },
    }


def providers_list() -> dict[str, list[str]]:
    """What this server bundles, by section."""
    return {
        "llm": list(LLM_PROVIDERS),
        "embedder": list(EMBEDDER_PROVIDERS),
        "vector_store": list(VECTOR_STORES),
        "reranker": list(RERANKERS),
    }
