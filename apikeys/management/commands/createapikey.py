"""Create an API key for an account and print it once: `manage.py createapikey --email … --label …`."""

from __future__ import annotations

from django.core.management.base import CommandError

from apikeys.services import apikey_create
from mem0server.commands import DatabaseCommand, active_account


class Command(DatabaseCommand):
    help = "Create an API key for an account; the key is printed once and cannot be shown again."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The account that will own the key")
        parser.add_argument("--label", required=True, help="What the key is for")

    def handle(self, *args, email: str, label: str, **options):
        user = active_account(email)
        if not label.strip() or len(label) > 100:
            raise CommandError("--label must be 1 to 100 characters.")
        api_key, key = apikey_create(user=user, label=label.strip())
        self.stderr.write(
            f"API key {api_key.key_prefix}… for {user.email} ({label}); store it now, it is not shown again:"
        )
        # The key alone on stdout, so scripts can capture it.
        self.stdout.write(key)
