"""Write a random JWT signing secret into the data folder unless one exists (used by `make serve`)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from mem0server.settings import persistent_secret


class Command(BaseCommand):
    help = "Create $MEM0_DATA_DIR/jwt_secret (mode 600) if JWT_SECRET is not set and the file does not exist."

    def handle(self, *args, **options):
        path = settings.JWT_SECRET_FILE
        if settings.JWT_SECRET and not path.exists():
            self.stdout.write("JWT_SECRET is set; nothing to do.")
            return
        existed = path.exists()
        persistent_secret(path)
        self.stdout.write(f"JWT secret {'kept' if existed else 'generated'} in {path}")
