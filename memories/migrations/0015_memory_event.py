"""The time a memory's own text names ("Yesterday I met Maya"): Memory.event_start / event_end (memories/temporal.py).

Memories stored before get theirs here, read from when each happened (timestamp) or was stored; only those whose
text names a time are written.
"""

from django.db import migrations, models

BATCH = 2_000


def date_events(apps, schema_editor):
    from memories.temporal import named_window

    Memory = apps.get_model("memories", "Memory")
    after = None
    while True:
        rows = Memory.objects.order_by("id").only("id", "text", "occurred_at", "created_at")
        batch = list((rows.filter(id__gt=after) if after is not None else rows)[:BATCH])
        if not batch:
            return
        dated = []
        for memory in batch:
            window = named_window(memory.text, memory.occurred_at or memory.created_at)
            if window is not None:
                memory.event_start, memory.event_end = window.start, window.end
                dated.append(memory)
        Memory.objects.bulk_update(dated, ["event_start", "event_end"])
        after = batch[-1].id


class Migration(migrations.Migration):
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
