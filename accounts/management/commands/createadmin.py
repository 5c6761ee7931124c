"""`manage.py createadmin`: createuser with --role admin, defaulting to ADMIN_EMAIL / ADMIN_PASSWORD."""

from accounts.management.commands.createuser import Command as CreateUser
from accounts.models import User


class Command(CreateUser):
    help = "Create an admin account (email login). Defaults come from ADMIN_EMAIL and ADMIN_PASSWORD."
    default_role = User.Role.ADMIN
