from django.db import migrations, models

# The folding requestlog.routes.route_of does, as the Requests page ran it on every row before the route was
# stored; frozen here for the rows logged before this migration that the page's charts still show (their longest
# window is 24 hours): a long log is not rewritten whole while the server may be running beside the migration.
UUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ROUTE_SQL = rf"""
    regexp_replace(
        regexp_replace(
            regexp_replace(path, '{UUID_RE}', '{{id}}', 'g'),
            '/[0-9]+(/|$)', '/{{id}}\1', 'g'),
        '^/entities/([^/]+)/[^/]+$', '/entities/\1/{{id}}')
"""


class Migration(migrations.Migration):

    dependencies = [
        ('requestlog', '0004_requestlog_error'),
    ]

    operations = [
        migrations.AddField(
            model_name='requestlog',
            name='route',
            field=models.CharField(blank=True, default='', help_text='The path with its ids folded: /memories/{id}.', max_length=500),
        ),
        migrations.RunSQL(
            f"UPDATE requestlog_requestlog SET route = {ROUTE_SQL} WHERE created_at >= now() - interval '25 hours'",  # noqa: S608
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
