"""What a serving process says when it starts: database, embedder, LLM and auth mode."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from mem0server.database import describe_database
from mem0server.text import mask_urls

logger = logging.getLogger("mem0server")


def announce() -> None:
    if not settings.AUTH_DISABLED and not settings.JWT_SECRET:
        line = (
            "JWT_SECRET is not set: set it to a long random value (or run `manage.py ensure_jwt_secret` "
            f"to generate {settings.JWT_SECRET_FILE}), or set AUTH_DISABLED=true for local experiments."
        )
        logger.critical(line)
        raise ImproperlyConfigured(line)
    db = settings.DATABASES["default"]
    where = f"embedded PostgreSQL in {settings.DATA_DIR / 'pg'}" if settings.EMBEDDED_DATABASE else "DATABASE_URL"
    logger.info("database: %s (%s)", describe_database(db), where)

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
        logger.info("%s", stored)
    logger.info("embedder: %s", mask_urls(describe_embedder()))
    if runtime.dims_conflict:
        logger.error("embedder: %s", runtime.dims_conflict)
    logger.info("llm: %s", describe_llm_at_start(runtime))
    if settings.AUTH_DISABLED:
        logger.warning("!" * 72)
        logger.warning("AUTH_DISABLED=true: every request is served as admin WITHOUT credentials.")
        logger.warning("Use this for local development only; never expose this server.")
        logger.warning("!" * 72)
    else:
        logger.info("auth: on (Bearer JWT, per-user X-API-Key%s)", ", ADMIN_API_KEY" if settings.ADMIN_API_KEY else "")
        if settings.ADMIN_API_KEY and len(settings.ADMIN_API_KEY) < 16:
            logger.warning("ADMIN_API_KEY is shorter than 16 characters; use a long random value.")
    from memories.rerank import announce_reranker

    announce_reranker()
    logger.info("API docs at /docs, schema at /openapi.json")

    # Load the embedding model in the background so the first request does not wait for it.
    if runtime.embedder_provider == "local":
        threading.Thread(target=local_embedder().warm_up, name="embedder-warm-up", daemon=True).start()
