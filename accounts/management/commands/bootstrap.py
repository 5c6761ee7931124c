"""`manage.py bootstrap`: everything a fresh server needs, safe to run on every start (make serve and
the Docker image run it each time): one Django start instead of one per step."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.models import User
from accounts.selectors import user_by_email
from apikeys.services import apikey_create
from mem0server.commands import database_reached
from mem0server.database import describe_database
from mem0server.exceptions import InvalidInput, NotFound
from memories.management.commands.migrate import Command as MigrateCommand

MIN_PASSWORD_LENGTH = 8
BOOTSTRAP_KEY_LABEL = "bootstrap"


class Command(BaseCommand):
    help = (
        "Migrate the database, check pgvector, create the first admin from ADMIN_EMAIL / ADMIN_PASSWORD "
        "(only if no user has that email), export the embedder once, and print the setup status. Running it "
        "again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where clients reach the server; only used to print the docs URL.",
        )
        parser.add_argument(
            "--make-jwt-secret",
            action="store_true",
            help="Without JWT_SECRET, generate $MEM0_DATA_DIR/jwt_secret once (make serve; as ensure_jwt_secret).",
        )
        parser.add_argument(
            "--with-api-key",
            action="store_true",
            help="Also create an API key for the ADMIN_EMAIL admin, printed once (only if it has no bootstrap key).",
        )

    def handle(self, *args, base_url: str, with_api_key: bool = False, make_jwt_secret: bool = False, **options):
        database = DEFAULT_DB_ALIAS
        db = connections[database]
        if settings.EMBEDDED_DATABASE:
            where = "embedded PostgreSQL; it keeps running after the server stops: make stop-db stops it"
        else:
            where = "DATABASE_URL"
        self._line("database", f"{describe_database(db.settings_dict)} ({where})")
        with database_reached(database):
            self._set_up(database, base_url.rstrip("/"), with_api_key)
        if make_jwt_secret:
            call_command("ensure_jwt_secret", stdout=self.stdout)
        call_command("prepare_embedder", stdout=self.stdout)

    def _set_up(self, database: str, base_url: str, with_api_key: bool) -> None:
        changes: list[str] = []
        self._check_vector_available(database)
        applied = self._migrate(database)
        self._line("migrations", f"applied {applied}" if applied else "up to date")
        if applied:
            changes.append(f"applied {applied} migration{'s' * (applied != 1)}")
        self._line("pgvector", self._vector_version(database))

        created = self._ensure_admin(database)
        if created:
            changes.append(f"created admin {created}")
        admins = list(
            User.objects.db_manager(database)
            .filter(role=User.Role.ADMIN, is_active=True)
            .order_by("created_at")
            .values_list("email", flat=True)[:4]
        )
        if admins:
            shown = ", ".join(admins[:3]) + (", …" if len(admins) > 3 else "")
            self._line("admins", shown)
        else:
            self._line(
                "admins",
                f"none yet: open {base_url}/dashboard/ to create one (or set ADMIN_EMAIL and ADMIN_PASSWORD and run "
                "bootstrap again)",
            )
        if with_api_key and self._ensure_api_key(database):
            changes.append("created an API key")
        self._line("auth", self._auth_mode())
        self._line("dashboard", f"{base_url}/dashboard/")
        self._line("API docs", f"{base_url}/docs")

        if changes:
            self.stdout.write(self.style.SUCCESS("Bootstrap done: " + "; ".join(changes) + "."))
        else:
            self.stdout.write(self.style.SUCCESS("Nothing changed: already set up."))

    def _line(self, label: str, value: str) -> None:
        self.stdout.write(f"  {label + ':':<12} {value}")

    def _migrate(self, database: str) -> int:
        """How many migrations this run applied: none when another process, starting at the same time, did."""
        executor = MigrationExecutor(connections[database])
        if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return 0
        migrate = MigrateCommand()
        call_command(migrate, database=database, interactive=False, verbosity=0)
        return migrate.applied

    def _check_vector_available(self, database: str) -> None:
        """Before any migration: a server without pgvector would otherwise be left half migrated."""
        with connections[database].cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            if cursor.fetchone() is None:
                raise CommandError(
                    "The PostgreSQL server in DATABASE_URL has no pgvector extension. Install pgvector (or use the "
                    "pgvector/pgvector Docker image), or unset DATABASE_URL to use the embedded server."
                )

    def _vector_version(self, database: str) -> str:
        # Created by memories/0001_vector_extension, which explains how to get pgvector when it is missing.
        with connections[database].cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        if row is None:
            raise CommandError("The vector extension is missing although migrations ran; see memories/migrations.")
        return f"vector extension {row[0]}"

    def _ensure_admin(self, database: str) -> str | None:
        """Create the ADMIN_EMAIL admin if asked for and absent; returns its email when created."""
        email, password = settings.ADMIN_EMAIL.lower(), settings.ADMIN_PASSWORD
        if not email and not password:
            return None
        users = User.objects.db_manager(database)
        if not email:
            self._warn("ADMIN_PASSWORD is set but ADMIN_EMAIL is not; no admin created.")
            return None
        existing = users.filter(email__iexact=email).first()
        if existing is not None:
            if existing.role != User.Role.ADMIN:
                self._warn(f"{existing.email} exists as a {existing.role}; left unchanged (promote it in /admin/).")
            else:
                self._line("admin", f"{existing.email} exists; left unchanged")
            return None
        if not password:
            self._warn(f"ADMIN_EMAIL is {email} but ADMIN_PASSWORD is not set; no admin created.")
            return None
        self._check_credentials(email, password)
        try:
            with transaction.atomic(using=database):
                users.create_superuser(email, password, name="Admin")
        except IntegrityError:
            # Another process (a second container starting) created it between our check and insert.
            self._line("admin", f"{email} exists; left unchanged")
            return None
        self._line("admin", f"{email} created (role admin, can log into /admin/)")
        return email

    def _ensure_api_key(self, database: str) -> bool:
        """One live "bootstrap" key for the ADMIN_EMAIL admin; the key is printed this once."""
        admin = None
        if settings.ADMIN_EMAIL:
            try:  # `database` is always the default one, which the selector reads
                admin = user_by_email(email=settings.ADMIN_EMAIL.strip().lower())
            except NotFound:
                pass
            except InvalidInput as exc:  # several in other case, and not one exactly
                raise CommandError(exc.detail) from None
        if admin is None or admin.role != User.Role.ADMIN:
            self._warn("--with-api-key needs the ADMIN_EMAIL admin; no API key created.")
            return False
        live = admin.api_keys.filter(label=BOOTSTRAP_KEY_LABEL, revoked_at__isnull=True).first()
        if live is not None:
            self._line("API key", f"{live.key_prefix}… exists for {admin.email} (shown only when created)")
            return False
        _, key = apikey_create(user=admin, label=BOOTSTRAP_KEY_LABEL)
        self._line("API key", f"{key}   <- for {admin.email}; store it now, it is not shown again")
        return True

    def _check_credentials(self, email: str, password: str) -> None:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"ADMIN_EMAIL {email!r} is not an email address.") from None
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CommandError(f"ADMIN_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters.")
        try:
            password_validation.validate_password(password, User(email=email, name="Admin"))
        except ValidationError as exc:
            raise CommandError("ADMIN_PASSWORD is too weak: " + " ".join(exc.messages)) from None

    def _warn(self, message: str) -> None:
        self.stdout.write(self.style.WARNING(f"  warning:     {message}"))

    @staticmethod
    def _auth_mode() -> str:
        if settings.AUTH_DISABLED:
            return "OFF (AUTH_DISABLED=true): local development only"
        if settings.ADMIN_API_KEY:
            return "on (ADMIN_API_KEY accepted as admin)"
        return "on"
