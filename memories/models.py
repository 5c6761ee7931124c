"""Memories and their history: fields, constraints and indexes only (logic lives in services/selectors)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, GeneratedField, Q
from django.db.models.functions import Collate
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from mem0server.sealing import SecretsSealedJSONField
from memories.temporal import named_window

SCOPE_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
# For error messages: "user_id, agent_id, app_id or run_id".
SCOPE_NAMES = ", ".join(SCOPE_FIELDS[:-1]) + f" or {SCOPE_FIELDS[-1]}"
# Keyword search: English stemming and stop words (a stop word would otherwise match nearly everything,
# as PostgreSQL's ranking has no inverse document frequency). Words of other languages are kept as written.
TEXT_SEARCH_CONFIG = "english"
# Lexemes longer than this (in UTF-8 bytes) are left out of the keyword index and of BM25: with a long scope id
# such a posting did not fit its btree index, and no query matches such a "word" but by repeating it whole.
# The posting triggers (migration 0013) hold the same number.
MAX_LEXEME_BYTES = 255
# The longest text a memory holds: an add's message, an update's text (inference writes at most 2,000).
MAX_TEXT_CHARS = 100_000


class Memory(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The account whose credentials wrote it (tenancy); NULL for ADMIN_API_KEY / AUTH_DISABLED, which only
    # admins see. Deleting an account keeps its memories for the admins.
    # Indexed by memory_account_expiry below, which leads with it.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memories",
        db_index=False,
    )
    text = models.TextField()
    hash = models.CharField(max_length=32, help_text="md5 of the text")
    user_id = models.CharField(max_length=255, null=True, blank=True)
    agent_id = models.CharField(max_length=255, null=True, blank=True)
    app_id = models.CharField(max_length=255, null=True, blank=True)
    run_id = models.CharField(max_length=255, null=True, blank=True)
    actor_id = models.CharField(max_length=255, null=True, blank=True)
    role = models.CharField(max_length=32, null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    # The Platform's memory categories: names from the project's custom_categories (or the defaults) that the
    # LLM tagged an inferred memory with (memories/categories.py); empty for memories stored as given.
    categories = ArrayField(models.CharField(max_length=100), default=list, db_default=[], blank=True)
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMS)
    # Kept by PostgreSQL itself, so every write path (bulk inserts included) stays searchable by keyword.
    search_vector = GeneratedField(
        expression=SearchVector("text", config=TEXT_SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    expiration_date = models.DateField(null=True, blank=True)
    # When the conversation it came from happened (the add's `timestamp`), as opposed to when it was stored.
    occurred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The time its text names ("Yesterday I met Maya"), read from when it happened or was written (date_event);
    # null when it names none. A search that names a time matches it rather than occurred_at (memories/search.py).
    event_start = models.DateTimeField(null=True, blank=True)
    event_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "memories"
        indexes = [
            HnswIndex(
                name="memory_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            # Scope lookups list newest first, so the scope id leads and the list order follows. The account rides
            # along: a member's scope is then counted from the index alone (selectors._scope_rows); and with the
            # expiration date, a deep page of one scope skips its earlier rows from the index (selectors.page_of).
            *[
                models.Index(
                    fields=[field, "-created_at", "-id"],
                    include=["account", "expiration_date"],
                    name=f"memory_{field.removesuffix('_id')}_created",
                )
                for field in SCOPE_FIELDS
            ],
            # Lists newest first: a deep page skips its earlier rows by these alone (selectors.page_of), from the
            # index without the table, for an admin (every account) and led by the account for a member.
            models.Index(fields=["-created_at", "-id"], include=["expiration_date"], name="memory_created"),
            models.Index(
                fields=["account", "-created_at", "-id"], include=["expiration_date"], name="memory_account_created"
            ),
            # An account's unexpired memories counted from the index alone (every Platform list page counts them:
            # 47-71 ms at 45,000 memories from the table, 2.5-11.5 ms so); in place of the foreign key's own index.
            models.Index(fields=["account", "expiration_date"], name="memory_account_expiry"),
            # Entities in byte order, a page at a time (entities.selectors.entities_list): the scope ids in "C" order
            # with the dates each entity reports, for an admin (every account) and led by the account for a member,
            # so a page groups only its own entities' memories, from the index alone.
            *[
                models.Index(
                    *lead,
                    Collate(F(field), "C"),
                    include=["created_at", "updated_at"],
                    condition=Q(**{f"{field}__isnull": False}),
                    name=f"memory_{field.removesuffix('_id')}_entity{suffix}",
                )
                for field in SCOPE_FIELDS
                for lead, suffix in (((), ""), ((F("account"),), "_account"))
            ],
            # A text stored as it is, found without embedding it again (services.stored_verbatim).
            models.Index(fields=["hash"], name="memory_hash"),
            GinIndex(fields=["metadata"], name="memory_metadata_gin"),
            GinIndex(fields=["search_vector"], name="memory_search_vector_gin"),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    def date_event(self, written: datetime, *, said_at: datetime | None = None) -> None:
        """Set event_start and event_end from the time the text names, read from `said_at` (when the text was said:
        an inferred update's conversation), else occurred_at, else `written` (when the text was stored or changed),
        in UTC days: as the embedder dates it, and as the same memory read back from the database (a timestamp's
        own offset would move its day between the add and a later edit)."""
        window = named_window(self.text, (said_at or self.occurred_at or written).astimezone(UTC))
        self.event_start, self.event_end = (window.start, window.end) if window else (None, None)


class Posting(models.Model):
    """One lexeme of one memory's search_vector, with its term frequency: BM25's inverted index.

    Written only by PostgreSQL, by triggers on the memories table (migrations 0008 and 0009), so every write path (bulk
    inserts, updates, deletes, TRUNCATE) keeps it exact. It repeats the memory's scope ids, account and
    expiration date, so a search scoped by those alone reads its keywords' postings from one index without
    visiting the memories (memories/search.py).
    """

    pk = models.CompositePrimaryKey("memory_id", "lexeme")
    memory_id = models.UUIDField()
    lexeme = models.TextField()
    # Occurrences of the lexeme in the memory (its positions in the tsvector).
    tf = models.IntegerField()
    user_id = models.CharField(max_length=255, null=True)
    agent_id = models.CharField(max_length=255, null=True)
    app_id = models.CharField(max_length=255, null=True)
    run_id = models.CharField(max_length=255, null=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    expiration_date = models.DateField(null=True)

    class Meta:
        # One index per scope id, led by it and the lexeme, carrying everything else a search reads or checks:
        # an index-only scan per query word.
        indexes = [
            models.Index(
                fields=[field, "lexeme"],
                include=["memory_id", "tf", "account", "expiration_date"],
                condition=models.Q(**{f"{field}__isnull": False}),
                name=f"posting_{field.removesuffix('_id')}_lexeme",
            )
            for field in SCOPE_FIELDS
        ]

    def __str__(self) -> str:
        return f"{self.lexeme} x{self.tf} in {self.memory_id}"


class MemorySentence(models.Model):
    """One sentence of a long memory, embedded on its own (memories/sentences.py): search scores the memory by
    its closest sentence when that is closer than the whole text.

    Deleted with its memory by PostgreSQL (the foreign key, migration 0014, cascades: no query of Django's).
    """

    memory_id = models.UUIDField(db_index=True)
    # The md5 of the memory text the sentence was cut from: search ignores a sentence whose memory has changed.
    hash = models.CharField(max_length=32)
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMS)

    def __str__(self) -> str:
        return f"sentence of {self.memory_id}"


class MemoryTokens(models.Model):
    """A memory's word tokens, each with its vector from the local embedder (int8, memories/late_interaction.py),
    from the same model call that embedded its text: search scores the best candidates by them.

    Deleted with its memory by PostgreSQL (the foreign key, migration 0016, cascades).
    """

    memory_id = models.UUIDField(primary_key=True)
    # The md5 of the memory text the tokens are of: search computes them again for a memory that has changed.
    hash = models.CharField(max_length=32)
    vectors = models.BinaryField()
    # The model read only the text's first 256 tokens: late interaction does not score the memory below its fused
    # score (memories/late_interaction.py scores).
    partial = models.BooleanField(default=False, db_default=False)

    def __str__(self) -> str:
        return f"tokens of {self.memory_id}"


class MemoryHistory(models.Model):
    class Event(models.TextChoices):
        ADD = "ADD"
        UPDATE = "UPDATE"
        DELETE = "DELETE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Not a foreign key: history outlives the memory it describes.
    memory_id = models.UUIDField()
    # Copied from the memory, so an account can read the history of its deleted memories and no other.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    old_memory = models.TextField(null=True, blank=True)
    new_memory = models.TextField(null=True, blank=True)
    event = models.CharField(max_length=8, choices=Event.choices)
    # When the event happened; history is read oldest first by this.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)
    actor_id = models.CharField(max_length=255, null=True, blank=True)
    role = models.CharField(max_length=32, null=True, blank=True)

    class Meta:
        verbose_name_plural = "memory history"
        indexes = [
            models.Index(fields=["memory_id", "created_at"], name="history_memory_created"),
            # Every memory's history newest first (GET /v1/memories/events/): an account's, and all (the admins'); a
            # deep page skips its earlier events by these alone (selectors.page_of).
            models.Index(fields=["account", "-created_at", "-id"], name="history_account_created"),
            models.Index(fields=["-created_at", "-id"], name="history_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.memory_id}"


class ServerConfig(models.Model):
    """The one row holding what POST /configure changed; the environment gives everything else.

    `version` grows with every change, so each worker can tell cheaply whether its copy is stale.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    # Only the overrides, deep-merged over the environment's defaults when read; keys stored sealed.
    config = SecretsSealedJSONField(default=dict)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "server configuration"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="server_config_singleton")]

    def __str__(self) -> str:
        return f"configuration v{self.version}"


class SessionMessage(models.Model):
    """The last few messages of a conversation (one scope), shown to the fact extractor as context."""

    # Conversations are per account, like the memories they feed.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user_id = models.CharField(max_length=255, null=True, blank=True)
    agent_id = models.CharField(max_length=255, null=True, blank=True)
    app_id = models.CharField(max_length=255, null=True, blank=True)
    run_id = models.CharField(max_length=255, null=True, blank=True)
    role = models.CharField(max_length=32)
    content = models.TextField()
    name = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["account", "user_id", "agent_id", "app_id", "run_id", "-created_at"],
                name="session_message_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"


class KeptText(models.Model):
    """A text made of what an add carried, kept per account so that the same thing sent again (a framework re-sends
    its whole context each turn), to any process, is not made again and reads the same."""

    key = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The users whose adds read it (their scopes' user_id): once a user has no memory left (deleted), it goes too.
    user_ids = ArrayField(models.TextField(), default=list, db_default=[], blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.text[:60]


class ImageDescription(KeptText):
    """What the LLM said an image shows (memories/vision.py), not asked again for the image sent again. Dropped
    IMAGE_DESCRIPTIONS_KEPT_DAYS after it was made. Its key: SHA-256 of the account, the model that described the image
    (its address, name and detail) and the image's URL."""


class DocumentText(KeptText):
    """A document's text as an add read it (memories/documents.py), not read again for the document sent again: no
    process started, a scanned PDF's pages not made pictures again (about 0.1 s of CPU each). Dropped
    DOCUMENT_TEXTS_KEPT_DAYS after it was read. Its key: SHA-256 of the account, how the document was read (as a PDF
    with the vision model's pages, an Office file …), the reader's own code, and the document's content."""
