"""Create an account without prompts: `manage.py createuser --email … --password … [--role member|admin]`."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User


class Command(BaseCommand):
    help = "Create an account (email login), a member unless --role admin. Prefer passing the password by env."
    default_role = User.Role.MEMBER

    def add_arguments(self, parser):
        is_admin = self.default_role == User.Role.ADMIN
        parser.add_argument("--email", default=settings.ADMIN_EMAIL if is_admin else "", help="Login email")
        parser.add_argument(
            "--password",
            default=settings.ADMIN_PASSWORD if is_admin else "",
            help="8+ characters" + (" (default: $ADMIN_PASSWORD)" if is_admin else ""),
        )
        parser.add_argument("--name", default="", help="Display name")
        parser.add_argument("--role", choices=list(User.Role.values), default=self.default_role)

    def handle(self, *args, email: str, password: str, name: str, role: str, **options):
        if not email or not password:
            raise CommandError("Give --email and --password.")
        email = User.objects.normalize_email(email).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"An account with email {email} already exists.")
        try:
            password_validation.validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if role == User.Role.ADMIN:
            User.objects.create_superuser(email=email, password=password, name=name)
        else:
            User.objects.create_user(email=email, password=password, name=name, role=role)
        self.stdout.write(self.style.SUCCESS(f"Created {role} {email}."))
