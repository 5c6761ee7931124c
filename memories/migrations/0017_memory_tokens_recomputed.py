from django.db import migrations


class Migration(migrations.Migration):
    """Tokens stored before two fixes lack words: those of scripts other than Latin (Cyrillic, Greek, CJK...), and
    those after the first 256 tokens of a memory longer than the model reads (a token is at least a character, and
    a date takes 7). The tokens of memories whose text has a character outside ASCII or over 240 characters go;
    the next search that ranks such a memory among its candidates stores them whole (or
    `manage.py reembed_memories --all`)."""

    dependencies = [
        ("memories", "0016_memory_tokens"),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM memories_memorytokens t USING memories_memory m "
            "WHERE m.id = t.memory_id AND (m.text ~ '[^\\x01-\\x7f]' OR length(m.text) > 240)",
            migrations.RunSQL.noop,
        ),
    ]
