from django.db import migrations

# Base URLs and connection strings whose password an earlier version did not see as one were stored in clear: one
# holding an unencoded "/", "?" or "#" (`postgres://u:ab/cd@db/x`), starting with digits as a port would
# (`postgres://u:123/abc@db/x`), or holding a quote, a space or "<" (`postgres://u:it's@db/x`). Read and written back through the sealing field, as 0012 did, they are sealed now.
# Undone, they stay sealed, which the field reads as before.


def seal_stored(apps, schema_editor):
    for row in apps.get_model("memories", "ServerConfig").objects.all():
        row.save(update_fields=["config"])


class Migration(migrations.Migration):
    dependencies = [
        ("memories", "0023_kept_text_users"),
    ]

    operations = [
        migrations.RunPython(seal_stored, migrations.RunPython.noop),
    ]
