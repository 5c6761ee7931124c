"""Create an admin account without prompts: `manage.py createadmin --email … --password …` (or env)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = "Create an admin account (email login). Defaults come from ADMIN_EMAIL and ADMIN_PASSWORD."

    def add_arguments(self, parser):
        parser.add_argument("--email", default=settings.ADMIN_EMAIL, help="Default: $ADMIN_EMAIL")
        parser.add_argument(
            "--password", default=settings.ADMIN_PASSWORD, help="Default: $ADMIN_PASSWORD (prefer the env var)"
        )
        parser.add_argument("--name", default="", help="Display name")

    def handle(self, *args, email: str, password: str, name: str, **options):
        if not email or not password:
            raise CommandError("Give --email and --password, or set ADMIN_EMAIL and ADMIN_PASSWORD.")
        email = User.objects.normalize_email(email).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"An account with email {email} already exists.")
        try:
            password_validation.validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        User.objects.create_superuser(email=email, password=password, name=name)
        self.stdout.write(self.style.SUCCESS(f"Created admin {email}."))
