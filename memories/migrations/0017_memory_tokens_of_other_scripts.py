from django.db import migrations


class Migration(migrations.Migration):
    """Tokens stored before words of other scripts than Latin counted (Cyrillic, Greek, CJK...) lack those words:
    those of memories whose text has a character outside ASCII go, and the next search that ranks such a memory
    among its candidates stores them whole (or `manage.py reembed_memories --all`)."""

    dependencies = [
        ("memories", "0016_memory_tokens"),
    ]

    operations = [
        migrations.RunSQL(
            "DELETE FROM memories_memorytokens t USING memories_memory m "
            "WHERE m.id = t.memory_id AND m.text ~ '[^\\x01-\\x7f]'",
            migrations.RunSQL.noop,
        ),
    ]
