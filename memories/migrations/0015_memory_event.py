"""The time a memory's own text names ("Yesterday I met Maya"): Memory.event_start / event_end (memories/temporal.py).

The columns are added at once (nullable: no table rewrite). Memories stored before are then dated by
services.memories_events_fill, in batches each committed on its own, so the table is never locked for longer than
one batch's UPDATE: in a single transaction, the first version of this migration held every read of the table for
29 s on 51,319 memories.
"""

from django.db import migrations, models


def date_events(apps, schema_editor):
    from memories.services import memories_events_fill

    memories_events_fill(model=apps.get_model("memories", "Memory"), using=schema_editor.connection.alias)


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
