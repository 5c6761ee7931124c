from django.db import migrations, models


class Migration(migrations.Migration):
    """A default in the database for OAuthGrant.previous_answer (0002), added NOT NULL with its default only in
    Python: a server of an earlier version still running while an upgrade migrates does not name it in its INSERTs,
    which failed on it (a connection refused). Only the column's default changes; reversed, it goes."""

    dependencies = [
        ('oauth', '0002_refresh_answer_kept'),
    ]

    operations = [
        migrations.AlterField(
            model_name='oauthgrant',
            name='previous_answer',
            field=models.TextField(blank=True, db_default='', default='', editable=False),
        ),
    ]
