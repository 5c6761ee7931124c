"""Create an account: `manage.py createuser --email … [--password …] [--name …] [--role member|admin]`.

Without --password it asks for it twice, when run in a terminal. The email must be a valid address and the
password must pass Django's password validators (AUTH_PASSWORD_VALIDATORS: length, similarity to the email
or name, common passwords, all digits), as for /auth/register.
"""

from __future__ import annotations

import getpass
import sys

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import validate_email

from accounts.models import User
from mem0server.commands import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Create an account (email login), a member unless --role admin. Without --password, asks for it "
        "(twice) when run in a terminal."
    )
    default_role = User.Role.MEMBER
    choose_role = True

    def add_arguments(self, parser):
        is_admin = self.default_role == User.Role.ADMIN
        parser.add_argument(
            "--email",
            default=settings.ADMIN_EMAIL if is_admin else "",
            help="Login email" + (" (default: $ADMIN_EMAIL)" if is_admin else ""),
        )
        parser.add_argument(
            "--password",
            default=settings.ADMIN_PASSWORD if is_admin else "",
            help="8+ characters"
            + (" (default: $ADMIN_PASSWORD)" if is_admin else "")
            + "; omit it to be asked in the terminal, which keeps it out of the shell history",
        )
        parser.add_argument("--name", default="", help="Display name")
        if self.choose_role:
            parser.add_argument("--role", choices=list(User.Role.values), default=self.default_role)

    def handle(self, *args, email: str, password: str, name: str, role: str | None = None, **options):
        role = role or self.default_role
        if not email:
            raise CommandError("Give --email.")
        email = User.objects.normalize_email(email.strip()).lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"An account with email {email} already exists.")
        if not password:
            password = self.ask_password()
        try:
            password_validation.validate_password(password, User(email=email, name=name))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if role == User.Role.ADMIN:
            User.objects.create_superuser(email=email, password=password, name=name)
        else:
            User.objects.create_user(email=email, password=password, name=name, role=role)
        self.stdout.write(self.style.SUCCESS(f"Created {role} {email}."))

    def ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError("Give --password (no terminal to ask for it in).")
        first = getpass.getpass("Password: ")
        if not first:
            raise CommandError("No password given.")
        if getpass.getpass("Password (again): ") != first:
            raise CommandError("The two passwords differ; nothing was created.")
        return first
