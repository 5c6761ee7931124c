from django.db import migrations, models


class Migration(migrations.Migration):
    """A default in the database for the request log's tool, client, error and route (0002-0005), added NOT NULL
    with their defaults only in Python: a server of an earlier version still running while an upgrade migrates does
    not name them in its INSERTs, which failed on them (its request log was lost until it was restarted). Only the
    columns' defaults change, no rewrite; reversed, they go."""

    dependencies = [
        ('requestlog', '0005_requestlog_route'),
    ]

    operations = [
        migrations.AlterField(
            model_name='requestlog',
            name='client',
            field=models.CharField(blank=True, db_default='', default='', help_text="Who called, as the caller says: Mem0's SDKs' X-Mem0-Client (mem0-python/2.2.1), an integration's source (X-Mem0-Source, or source in the query: OPENCLAW, N8N), else the User-Agent.", max_length=128),
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='error',
            field=models.CharField(blank=True, db_default='', default='', help_text="What a refused call was refused for: the fields its answer named (messages.1.content), or the error's code; never a value.", max_length=200),
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='route',
            field=models.CharField(blank=True, db_default='', default='', help_text='The path with its ids folded: /memories/{id}.', max_length=500),
        ),
        migrations.AlterField(
            model_name='requestlog',
            name='tool',
            field=models.CharField(blank=True, db_default='', default='', help_text='The MCP tool called (POST /mcp).', max_length=64),
        ),
    ]
