from django.db import migrations

# Base URLs stored with credentials or query values (https://user:password@…, ?key=…) are sealed as keys are
# (mem0server/sealing.py): each row is read and written back through the sealing field. Undone, they stay
# sealed, which the field reads as before; undoing 0010 opens them with the keys.


def seal_stored(apps, schema_editor):
    for row in apps.get_model("memories", "ServerConfig").objects.all():
        row.save(update_fields=["config"])


class Migration(migrations.Migration):
    dependencies = [
        ("memories", "0011_memory_categories"),
    ]

    operations = [
        migrations.RunPython(seal_stored, migrations.RunPython.noop),
    ]
