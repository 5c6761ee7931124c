"""The time a memory's own text names ("Yesterday I met Maya"): Memory.event_start / event_end (memories/temporal.py).

The columns are added at once (nullable: no table rewrite). Memories stored before are then dated in batches of
BATCH, each committed on its own, so the table is never locked for longer than one batch's UPDATE: in a single
transaction, the first version of this migration held every read of the table for 29 s on 51,319 memories. Each
text is read from when it happened (timestamp) or was stored, in UTC days, as Memory.date_event reads it. A row
changed by a writer meanwhile (its hash or timestamp no longer what the batch read) keeps what that writer set.
"""

from django.db import migrations, models, transaction

BATCH = 2_000

DATE = """
UPDATE memories_memory m SET event_start = v.event_start, event_end = v.event_end
FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
    AS v(id, hash, occurred_at, event_start, event_end)
WHERE m.id = v.id AND m.hash = v.hash AND m.occurred_at IS NOT DISTINCT FROM v.occurred_at
"""


def date_events(apps, schema_editor):
    from datetime import UTC

    from memories.temporal import named_window

    Memory = apps.get_model("memories", "Memory")
    after = None
    while True:
        rows = Memory.objects.order_by("id").values_list("id", "text", "hash", "occurred_at", "created_at")
        batch = list((rows.filter(id__gt=after) if after is not None else rows)[:BATCH])
        if not batch:
            return
        dated = []
        for memory_id, text, text_hash, occurred_at, created_at in batch:
            window = named_window(text, (occurred_at or created_at).astimezone(UTC))
            if window is not None:
                dated.append((memory_id, text_hash, occurred_at, window.start, window.end))
        if dated:
            with transaction.atomic(using=schema_editor.connection.alias), schema_editor.connection.cursor() as c:
                c.execute(DATE, [list(column) for column in zip(*dated, strict=True)])
        after = batch[-1][0]


class Migration(migrations.Migration):
    atomic = False  # each batch commits on its own (date_events)

    dependencies = [
        ("memories", "0014_memory_sentences"),
    ]

    operations = [
        migrations.AddField(
            model_name="memory",
            name="event_start",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="memory",
            name="event_end",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(date_events, migrations.RunPython.noop, elidable=True),
    ]
