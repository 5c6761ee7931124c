"""manage.py reembed_memories: memories stored with a timestamp get the dated vector a new add gives them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from mem0server.tests.sessions import other_session, wait_until_blocked
from memories import services
from memories.configuration import server_config_forget
from memories.embeddings import get_embedder
from memories.models import Memory, MemorySentence, ServerConfig
from memories.sentences import sentences as split_sentences
from memories.tests.fake_openai import fake_vector
from memories.tests.test_configure import openai_embedder
from memories.timestamps import dated_text

pytestmark = pytest.mark.django_db

WHEN = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)


def add(principal, text, timestamp=None):
    [item] = services.memories_add(
        principal=principal,
        messages=[services.Message("user", text)],
        scope={"user_id": "alice"},
        infer=False,
        timestamp=timestamp,
    )
    return Memory.objects.get(id=item["id"])


def vector(memory_id):
    return np.array(Memory.objects.get(id=memory_id).embedding)


def assert_stored_and_embedded(memory_id, text: str, when) -> None:
    """The memory holds this text and timestamp, and is embedded as the text dated by that day."""
    stored = Memory.objects.get(id=memory_id)
    assert (stored.text, stored.occurred_at) == (text, when)
    assert np.allclose(vector(memory_id), get_embedder().embed([dated_text(text, when)])[0], atol=1e-5)


def test_a_memory_with_a_timestamp_is_embedded_with_its_day(member, embedder):
    memory = add(member, "Went hiking in the Alps", WHEN)
    expected = get_embedder().embed([dated_text("Went hiking in the Alps", WHEN)])[0]
    assert np.allclose(vector(memory.id), expected, atol=1e-5)
    plain = add(member, "Likes tea")
    assert np.allclose(vector(plain.id), get_embedder().embed(["Likes tea"])[0], atol=1e-5)


def test_reembedding_gives_older_dated_memories_their_dated_vector_and_leaves_the_rest(member, embedder, capsys):
    dated = add(member, "Went hiking in the Alps", WHEN)
    plain = add(member, "Likes tea")
    undated_vector = get_embedder().embed(["Went hiking in the Alps"])[0]
    Memory.objects.filter(id=dated.id).update(embedding=undated_vector)  # as stored by an older version
    plain_before = vector(plain.id)

    call_command("reembed_memories", "--batch-size", "1")

    assert np.allclose(vector(dated.id), get_embedder().embed([dated_text(dated.text, WHEN)])[0], atol=1e-5)
    assert np.array_equal(vector(plain.id), plain_before)
    assert "Embedded 1 memory again." in capsys.readouterr().out


def test_a_batch_size_below_one_is_refused(db):
    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        call_command("reembed_memories", "--batch-size", "0")


def test_reembedding_uses_the_embedder_stored_through_configure(member, embedder, fake_openai):
    memory = add(member, "Went hiking in the Alps", WHEN)
    # A fresh `manage.py` process, on a database where a web worker stored another (same-size) embedder.
    server_config_forget()
    ServerConfig.objects.create(pk=1, version=1, config={"embedder": openai_embedder(fake_openai, 384)})
    try:
        call_command("reembed_memories", "--all")
    finally:
        server_config_forget()
    assert [call.body["input"] for call in fake_openai.embed_calls()] == [[dated_text(memory.text, WHEN)]]
    assert np.allclose(vector(memory.id), fake_vector(dated_text(memory.text, WHEN), 384), atol=1e-5)


def test_reembedding_gives_a_long_memory_stored_before_sentence_vectors_its_sentences(member, embedder):
    long_text = (
        "Work has been hectic all month and the new manager keeps moving every deadline around. I finally "
        "repainted the kitchen a pale green on Saturday. Also, we adopted a rescue greyhound called Pepper."
    )
    memory = add(member, long_text, WHEN)
    sentences = list(MemorySentence.objects.filter(memory_id=memory.id).values_list("embedding", flat=True))
    assert len(sentences) == 3
    MemorySentence.objects.all().delete()  # as stored by an older version

    call_command("reembed_memories", "--batch-size", "1")

    again = list(MemorySentence.objects.filter(memory_id=memory.id).order_by("id").values_list("embedding", flat=True))
    expected = get_embedder().embed([dated_text(part, WHEN) for part in split_sentences(long_text)])
    assert np.allclose(np.array(again), np.array(expected), atol=1e-5)
    assert np.allclose(np.array(again), np.array(sentences), atol=1e-5)


def test_the_sentences_option_gives_long_memories_their_sentences_and_leaves_whole_vectors(member, embedder, capsys):
    long_text = (
        "Work has been hectic all month and the new manager keeps moving every deadline around. I finally "
        "repainted the kitchen a pale green on Saturday. Also, we adopted a rescue greyhound called Pepper."
    )
    memory = add(member, long_text, WHEN)
    short = add(member, "Likes tea")
    MemorySentence.objects.all().delete()  # as stored by a version without sentence vectors
    marked = get_embedder().embed(["something else entirely"])[0]
    Memory.objects.filter(id=memory.id).update(embedding=marked)  # the whole vector must stay as it is

    call_command("reembed_memories", "--sentences", "--batch-size", "1")

    filled = list(MemorySentence.objects.filter(memory_id=memory.id).order_by("id").values_list("embedding", flat=True))
    expected = get_embedder().embed([dated_text(part, WHEN) for part in split_sentences(long_text)])
    assert np.allclose(np.array(filled), np.array(expected), atol=1e-5)
    assert np.allclose(vector(memory.id), marked, atol=1e-6)
    assert not MemorySentence.objects.filter(memory_id=short.id).exists()
    assert "Gave 1 long memory its sentence vectors." in capsys.readouterr().out
    call_command("reembed_memories", "--sentences")  # nothing left to do
    assert "Gave 0 long memories" in capsys.readouterr().out
    with pytest.raises(CommandError, match="exclude each other"):
        call_command("reembed_memories", "--sentences", "--all")


@pytest.mark.django_db(transaction=True)
def test_filling_sentences_keeps_those_a_new_timestamp_gave_a_memory_meanwhile(member, embedder):
    texts = [
        "Work has been hectic all month and the new manager keeps moving every deadline around. I finally "
        "repainted the kitchen a pale green on Saturday. Also, we adopted a rescue greyhound called Pepper.",
        "We drove down to the coast for the long weekend and the traffic was terrible the whole way. The hotel "
        "upgraded us to a sea view room. My sister joined us on Sunday with her two kids.",
    ]
    first, second = sorted((add(member, text, WHEN) for text in texts), key=lambda memory: memory.id)
    MemorySentence.objects.all().delete()  # as stored by a version without sentence vectors
    later = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
    holder, watcher = other_session(), other_session()
    watcher.autocommit = True
    holder.execute("SELECT 1 FROM memories_memory WHERE id = %s FOR UPDATE", [first.id])  # a long transaction

    def fill() -> None:
        try:
            services.memories_sentences_fill(batch_size=2)
        finally:
            connection.close()  # this thread's own database session

    thread = threading.Thread(target=fill)
    thread.start()
    wait_until_blocked(watcher, "%FOR UPDATE%")  # embedded both with their stored day, locking in id order
    # Meanwhile the second memory gets a new timestamp: its vectors are dated by the new day, sentences too.
    services.memory_update(principal=member, memory_id=second.id, occurred_at=later)
    holder.rollback()
    thread.join(timeout=120)

    stored = MemorySentence.objects.filter(memory_id=second.id).order_by("id").values_list("embedding", flat=True)
    expected = get_embedder().embed([dated_text(part, later) for part in split_sentences(second.text)])
    assert np.allclose(np.array(list(stored)), np.array(expected), atol=1e-5)
    assert MemorySentence.objects.filter(memory_id=first.id).count() == 3
    holder.close(), watcher.close()


@pytest.mark.django_db(transaction=True)
def test_a_text_found_stored_but_deleted_before_the_add_writes_is_stored_again(member, embedder):
    # An add with infer finds a text it was sent already stored, so does not embed it; if that memory is deleted
    # while the add waits for the scope's lock, the add embeds the text there and stores it, not answering NONE
    # with a memory that is gone.
    scope = {"user_id": "alice"}
    stored = add(member, "I moved to Lisbon")
    held, release = threading.Event(), threading.Event()
    results: list = []

    def hold() -> None:  # another add of the scope, between its check and its write
        try:
            with transaction.atomic():
                services.lock_scope(member, scope)
                held.set()
                release.wait(60)
        finally:
            connection.close()

    def resend() -> None:
        try:
            messages = [services.Message("user", "I moved to Lisbon"), services.Message("user", "I play the cello")]
            results.extend(services.memories_add(principal=member, messages=messages, scope=scope, infer=True))
        finally:
            connection.close()

    holder, adder = threading.Thread(target=hold), threading.Thread(target=resend)
    holder.start()
    assert held.wait(30)
    watcher = other_session(autocommit=True)
    adder.start()
    wait_until_blocked(watcher, "%pg_advisory_xact_lock%")
    Memory.objects.filter(id=stored.id).delete()
    release.set()
    holder.join(60), adder.join(60)
    watcher.close()

    assert [(r["event"], r["memory"]) for r in results] == [("ADD", "I moved to Lisbon"), ("ADD", "I play the cello")]
    assert sorted(Memory.objects.values_list("text", flat=True)) == ["I moved to Lisbon", "I play the cello"]


def racing(monkeypatch, items, meanwhile) -> list:
    """Run `meanwhile` (another update, committed) right after the embedder is asked for exactly `items`: an update
    that read the memory before it, embedding while it commits. Returns a list that says whether it ran."""
    real, ran = services.embed_memories, []

    def embed(embedder, asked, **kwargs):
        vectors = real(embedder, asked, **kwargs)
        if asked == items and not ran:
            ran.append(True)
            meanwhile()
        return vectors

    monkeypatch.setattr(services, "embed_memories", embed)
    return ran


LATER = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch", [False, True], ids=["one", "batch"])
def test_a_new_text_is_dated_by_a_timestamp_set_while_it_was_embedded(member, embedder, monkeypatch, batch):
    memory = add(member, "Went hiking in the Alps", WHEN)
    ran = racing(
        monkeypatch,
        [("Went climbing in the Alps", WHEN)],  # the new text, dated by the day its update read
        lambda: services.memory_update(principal=member, memory_id=memory.id, occurred_at=LATER),
    )
    if batch:
        change = services.BatchChange(memory_id=memory.id, text="Went climbing in the Alps")
        services.memories_update_batch(principal=member, changes=[change])
    else:
        services.memory_update(principal=member, memory_id=memory.id, text="Went climbing in the Alps")
    assert ran
    # Found by its new day, as any memory of that text and timestamp: not by the day it had before.
    assert_stored_and_embedded(memory.id, "Went climbing in the Alps", LATER)


@pytest.mark.django_db(transaction=True)
def test_a_new_timestamp_dates_a_text_written_while_it_was_embedded(member, embedder, monkeypatch):
    memory = add(member, "Went hiking in the Alps", WHEN)
    ran = racing(
        monkeypatch,
        [("Went hiking in the Alps", LATER)],  # the stored text, dated by the new day
        lambda: services.memory_update(principal=member, memory_id=memory.id, text="Went climbing in the Alps"),
    )
    services.memory_update(principal=member, memory_id=memory.id, occurred_at=LATER)
    assert ran
    assert_stored_and_embedded(memory.id, "Went climbing in the Alps", LATER)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("batch", [False, True], ids=["one", "batch"])
def test_a_new_text_racing_a_new_timestamp_at_every_try_is_dated_by_the_last(member, embedder, monkeypatch, batch):
    memory = add(member, "Went hiking in the Alps", WHEN)
    real, days = services.embed_memories, iter(range(1, services.UPDATE_EMBED_TRIES + 1))

    def embed(embedder, asked, **kwargs):  # each try of the update embeds, then the timestamp moves on a day
        vectors = real(embedder, asked, **kwargs)
        if asked[0][0] == "Went climbing in the Alps" and (day := next(days, None)):
            moved = datetime(2024, 2, day, 9, 0, tzinfo=UTC)
            services.memory_update(principal=member, memory_id=memory.id, occurred_at=moved)
        return vectors

    monkeypatch.setattr(services, "embed_memories", embed)
    if batch:
        change = services.BatchChange(memory_id=memory.id, text="Went climbing in the Alps")
        services.memories_update_batch(principal=member, changes=[change])
    else:
        services.memory_update(principal=member, memory_id=memory.id, text="Went climbing in the Alps")
    last = datetime(2024, 2, services.UPDATE_EMBED_TRIES, 9, 0, tzinfo=UTC)
    assert_stored_and_embedded(memory.id, "Went climbing in the Alps", last)
