"""What a serving process says when it starts: database, embedder, LLM and auth mode."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from mem0server.database import describe_database

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

    from memories.configuration import HOW_TO_TURN_ON, server_config_current, server_config_refresh
    from memories.embeddings import describe_embedder, local_embedder

    try:  # the stored /configure changes, and whether the vector column fits the embedder
        runtime = server_config_refresh()
    except DatabaseError as exc:
        logger.warning("configuration: could not read the stored configuration (%s); using the environment's", exc)
        runtime = server_config_current()
    logger.info("embedder: %s", describe_embedder())
    if runtime.dims_conflict:
        logger.error("embedder: %s", runtime.dims_conflict)
    if runtime.llm.client is None:
        logger.info(
            "llm: none configured, inference is off (%s): infer=true stores messages as given, skipping "
            "near-duplicates. %s",
            runtime.llm.missing,
            HOW_TO_TURN_ON,
        )
    else:
        logger.info("llm: %s, inference is on", runtime.llm.client.describe())
    if settings.AUTH_DISABLED:
        logger.warning("!" * 72)
        logger.warning("AUTH_DISABLED=true: every request is served as admin WITHOUT credentials.")
        logger.warning("Use this for local development only; never expose this server.")
        logger.warning("!" * 72)
    else:
        logger.info("auth: on (Bearer JWT, per-user X-API-Key%s)", ", ADMIN_API_KEY" if settings.ADMIN_API_KEY else "")
        if settings.ADMIN_API_KEY and len(settings.ADMIN_API_KEY) < 16:
            logger.warning("ADMIN_API_KEY is shorter than 16 characters; use a long random value.")
    logger.info("API docs at /docs, schema at /openapi.json")

    # Load the embedding model in the background so the first request does not wait for it.
    if runtime.embedder_provider == "local":
        threading.Thread(target=local_embedder().warm_up, name="embedder-warm-up", daemon=True).start()
