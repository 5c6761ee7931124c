from django.db import migrations, models


class Migration(migrations.Migration):
    """OAuthClient.authorized_at: when an account last allowed the client. A client once allowed is kept after its
    grants end (the hourly prune dropped it, and its app, which keeps its client_id, met "Unknown client_id" when
    connected again). Clients with a grant now are marked from their newest; reversed, the column goes."""

    dependencies = [
        ('oauth', '0003_previous_answer_db_default'),
    ]

    operations = [
        migrations.AddField(
            model_name='oauthclient',
            name='authorized_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(
            "UPDATE oauth_oauthclient c SET authorized_at = g.newest FROM "
            "(SELECT client_id, MAX(created_at) AS newest FROM oauth_oauthgrant GROUP BY client_id) g "
            "WHERE g.client_id = c.id",
            migrations.RunSQL.noop,
        ),
    ]
