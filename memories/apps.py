from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import pre_migrate
from threadpoolctl import threadpool_limits


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
        # numpy's products here are small (late interaction's: the query's words by its candidates', a few hundred
        # by 384): BLAS's helper threads cost more than they save, spinning on the other cores after each one
        # (bench/api_bench.py, 50 candidates: 35.7-40.1 ms of server CPU per search, 20.3 ms on one thread).
        threadpool_limits(limits=1, user_api="blas")
