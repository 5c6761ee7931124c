"""What a serving process says when it starts: database, embedder, LLM and auth mode."""

from __future__ import annotations

import functools
import logging
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.urls import get_resolver

from mem0server.database import describe_database
from mem0server.text import mask_urls

logger = logging.getLogger("mem0server")
# The shortest JWT_SECRET a serving process takes: 32 characters, as HS256's 256-bit key (RFC 7518 section 3.2).
MIN_JWT_SECRET_CHARS = 32


def announce(*, quiet: bool = False) -> None:
    """Log what this process serves with, check what it needs, and start loading the embedder. `quiet` (a gunicorn
    worker after the first, which logged it all) checks the same and logs only what is wrong at INFO or above."""
    if not settings.AUTH_DISABLED and not settings.JWT_SECRET:
        line = (
            "JWT_SECRET is not set: set it to a long random value (or run `manage.py ensure_jwt_secret` "
            f"to generate {settings.JWT_SECRET_FILE}), or set AUTH_DISABLED=true for local experiments."
        )
        raise ImproperlyConfigured(line)  # a gunicorn worker says it in one line and stops the server (asgi.py)
    if not settings.AUTH_DISABLED and len(settings.JWT_SECRET) < MIN_JWT_SECRET_CHARS:
        # HS256 tokens: whoever guesses the secret offline from one token signs any account's, an admin's too.
        raise ImproperlyConfigured(
            f"JWT_SECRET is {len(settings.JWT_SECRET)} characters: a short secret can be guessed from any token, and "
            f"then tokens forged for every account. Set at least {MIN_JWT_SECRET_CHARS} random characters (openssl "
            "rand -base64 48); changing it logs everyone out."
        )
    # A quiet worker's lines are DEBUG: the first worker said them already; errors are said by every worker.
    say = logger.debug if quiet else logger.info
    warn = logger.debug if quiet else logger.warning
    db = settings.DATABASES["default"]
    where = f"embedded PostgreSQL in {settings.DATA_DIR / 'pg'}" if settings.EMBEDDED_DATABASE else "DATABASE_URL"
    say("database: %s (%s)", describe_database(db), where)
    from mem0server.commands import database_not_set_up

    if problem := database_not_set_up():  # served as it is, every request touching what is missing would be a 500
        logger.error("database: %s", problem)

    from memories.configuration import (
        describe_llm_at_start,
        describe_stored,
        server_config_current,
        server_config_refresh,
    )
    from memories.embeddings import describe_embedder, local_embedder

    try:  # the stored /configure changes, and whether the vector column fits the embedder
        runtime = server_config_refresh()
    except DatabaseError as exc:
        logger.warning("configuration: could not read the stored configuration (%s); using the environment's", exc)
        runtime = server_config_current()
    if stored := describe_stored(runtime):
        say("%s", stored)
    say("embedder: %s", mask_urls(describe_embedder()))
    if runtime.dims_conflict:
        logger.error("embedder: %s", runtime.dims_conflict)
    say("llm: %s", describe_llm_at_start(runtime))
    if settings.AUTH_DISABLED:
        warn("!" * 72)
        warn("AUTH_DISABLED=true: every request is served as admin WITHOUT credentials.")
        warn("Use this for local development only; never expose this server.")
        warn("!" * 72)
    else:
        say("auth: on (Bearer JWT, per-user X-API-Key%s)", ", ADMIN_API_KEY" if settings.ADMIN_API_KEY else "")
        if settings.ADMIN_API_KEY and len(settings.ADMIN_API_KEY) < 16:
            warn("ADMIN_API_KEY is shorter than 16 characters; use a long random value.")
    from memories.rerank import announce_reranker

    announce_reranker(quiet=quiet)
    say("API docs at /docs, schema at /openapi.json")

    # Import every view now, as the process starts (the URL configuration imports each app's views, DRF, the MCP
    # SDK …: about 0.4 s), not in the first request it serves (bench/cold_start.py).
    get_resolver().url_patterns  # noqa: B018

    # Load the embedding model in the background so the first request does not wait for it.
    if runtime.embedder_provider == "local":
        warm_up = functools.partial(local_embedder().warm_up, quiet=quiet)
        threading.Thread(target=warm_up, name="embedder-warm-up", daemon=True).start()
