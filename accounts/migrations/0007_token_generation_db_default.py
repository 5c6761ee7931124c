from django.db import migrations, models


class Migration(migrations.Migration):
    """A default in the database for User.token_generation (0004), added NOT NULL with its default only in Python:
    a server of an earlier version still running while an upgrade migrates does not name it in its INSERTs, which
    failed on it (createuser, a registration). Only the column's default changes, no rewrite; reversed, it goes."""

    dependencies = [
        ('accounts', '0006_token_generation_on_password'),
    ]

    operations = [
        migrations.AlterField(
            model_name='user',
            name='token_generation',
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False, help_text="Carried by the account's tokens and recorded by its connected apps' grants; one from an earlier generation is refused. Raised when the account is deactivated, so a token from before does not work again once it is reactivated, and when its password is set, however that is done."),
        ),
    ]
