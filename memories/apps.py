from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import pre_migrate


def _migrate_without_timeouts(sender, using, **kwargs) -> None:
    """Migrations may build an index over every memory: DB_STATEMENT_TIMEOUT_MS, meant for requests, must not
    cancel them halfway. Lifted for the migrating session only."""
    with connections[using].cursor() as cursor:
        cursor.execute("SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0")


class MemoriesConfig(AppConfig):
    name = "memories"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        pre_migrate.connect(_migrate_without_timeouts, dispatch_uid="memories.migrate_without_timeouts")
