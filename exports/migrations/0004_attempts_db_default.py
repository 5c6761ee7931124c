from django.db import migrations, models


class Migration(migrations.Migration):
    """A default in the database for the attempts of exports and imports (0002), added NOT NULL with its default only
    in Python: a server of an earlier version still running while an upgrade migrates does not name it in its
    INSERTs, which failed on it (an export answered 500). Only the column's default changes; reversed, it goes."""

    dependencies = [
        ('exports', '0003_memory_import'),
    ]

    operations = [
        migrations.AlterField(
            model_name='memoryexport',
            name='attempts',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AlterField(
            model_name='memoryimport',
            name='attempts',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
    ]
