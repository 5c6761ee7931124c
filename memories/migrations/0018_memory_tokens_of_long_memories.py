from django.db import migrations


class Migration(migrations.Migration):
    """Tokens stored before a memory longer than the model reads (256 tokens) kept the words of its sentences hold
    the words of its start alone: those of memories that may be that long (a token is at least a character, and a
    date takes 7) go, and the next search that ranks such a memory among its candidates stores them whole (or
    `manage.py reembed_memories --all`)."""

    dependencies = [
        ("memories", "0017_memory_tokens_of_other_scripts"),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM memories_memorytokens t USING memories_memory m "
            "WHERE m.id = t.memory_id AND length(m.text) > 240",
            migrations.RunSQL.noop,
        ),
    ]
