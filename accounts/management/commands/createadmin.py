"""`manage.py createadmin`: createuser for the admin role, defaulting to ADMIN_EMAIL / ADMIN_PASSWORD.

It has no --role: an admin command that could make a member would only hide a mistake (`createadmin --role
member` is refused as an unknown option; `createuser --role …` chooses).
"""

from accounts.management.commands.createuser import Command as CreateUser
from accounts.models import User


class Command(CreateUser):
    help = (
        "Create an admin account (email login). Defaults come from ADMIN_EMAIL and ADMIN_PASSWORD; without a "
        "password, asks for it (twice) when run in a terminal."
    )
    default_role = User.Role.ADMIN
    choose_role = False
