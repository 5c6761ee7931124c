import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    """A default in the database for Memory.categories (0011), MemoryTokens.partial (0017) and the kept texts'
    user_ids (0023), added NOT NULL with their defaults only in Python: a server of an earlier version still running
    while an upgrade migrates does not name them in its INSERTs, which failed on them (every add of 884c3de answered
    500 once 0011 was applied). Only the columns' defaults change, no rewrite; reversed, they go."""

    dependencies = [
        ('memories', '0029_scope_order_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='documenttext',
            name='user_ids',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), blank=True, db_default=[], default=list, size=None),
        ),
        migrations.AlterField(
            model_name='imagedescription',
            name='user_ids',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), blank=True, db_default=[], default=list, size=None),
        ),
        migrations.AlterField(
            model_name='memory',
            name='categories',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=100), blank=True, db_default=[], default=list, size=None),
        ),
        migrations.AlterField(
            model_name='memorytokens',
            name='partial',
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
