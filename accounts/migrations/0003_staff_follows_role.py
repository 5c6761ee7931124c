from django.db import migrations

# Django admin access follows the role (accounts.models.User.save): accounts whose flags were set apart from it
# (an admin demoted to member in the Django admin kept both) are brought in line.


def follow_role(apps, schema_editor):
    user = apps.get_model("accounts", "User")
    user.objects.filter(role="admin").update(is_staff=True, is_superuser=True)
    user.objects.exclude(role="admin").update(is_staff=False, is_superuser=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_refreshtoken"),
    ]

    operations = [
        migrations.RunPython(follow_role, migrations.RunPython.noop),
    ]
