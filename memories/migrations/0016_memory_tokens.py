from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("memories", "0015_memory_event"),
    ]

    operations = [
        migrations.CreateModel(
            name="MemoryTokens",
            fields=[
                ("memory_id", models.UUIDField(primary_key=True, serialize=False)),
                ("hash", models.CharField(max_length=32)),
                ("vectors", models.BinaryField()),
            ],
        ),
        # Deleted with their memory by PostgreSQL, whatever deletes it (Django's own cascade would query first).
        # The vectors are stored out of line and uncompressed: int8 values hardly compress, and every search
        # would pay for decompressing them.
        migrations.RunSQL(
            "ALTER TABLE memories_memorytokens ADD CONSTRAINT memorytokens_memory_fk FOREIGN KEY (memory_id) "
            "REFERENCES memories_memory (id) ON DELETE CASCADE; "
            "ALTER TABLE memories_memorytokens ALTER COLUMN vectors SET STORAGE EXTERNAL",
            "ALTER TABLE memories_memorytokens DROP CONSTRAINT memorytokens_memory_fk",
        ),
    ]
