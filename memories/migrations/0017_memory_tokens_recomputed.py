from django.db import migrations, models


class Migration(migrations.Migration):
    """`partial`: the model read only the first 256 tokens of the memory's text. Tokens stored before lack it, and
    the words of scripts other than Latin (Cyrillic, Greek, CJK...): those of memories whose text has a character
    outside ASCII or over 240 characters (a token is at least a character, and a date takes 7) go, and the next
    search that ranks such a memory among its candidates stores them again (or `manage.py reembed_memories --all`)."""

    dependencies = [
        ("memories", "0016_memory_tokens"),
    ]

    operations = [
        migrations.AddField(model_name="memorytokens", name="partial", field=models.BooleanField(default=False)),
        migrations.RunSQL(
            "DELETE FROM memories_memorytokens t USING memories_memory m "
            "WHERE m.id = t.memory_id AND (m.text ~ '[^\\x01-\\x7f]' OR length(m.text) > 240)",
            migrations.RunSQL.noop,
        ),
    ]
