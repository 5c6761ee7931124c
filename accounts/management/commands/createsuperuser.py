"""`manage.py createsuperuser`: Django's, saying in one line to run bootstrap first on a database it has not set up
(mem0server/commands.py), where Django's ended in its traceback. Found before Django's: accounts is listed first."""

from django.contrib.auth.management.commands import createsuperuser

from mem0server.commands import DatabaseCommand


class Command(DatabaseCommand, createsuperuser.Command):
    pass
