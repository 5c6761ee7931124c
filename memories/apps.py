import os

from django.apps import AppConfig
from threadpoolctl import threadpool_limits


class MemoriesConfig(AppConfig):
    name = "memories"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # numpy's products here are small (late interaction's: the query's words by its candidates', a few hundred
        # by 384): BLAS's helper threads cost more than they save, spinning on the other cores after each one
        # (bench/api_bench.py, 50 candidates: 35.7-40.1 ms of server CPU per search, 20.3 ms on one thread).
        # numpy is imported where vectors are handled, not at start: OpenBLAS reads this when numpy loads it later,
        # and the limit below holds one loaded already.
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        threadpool_limits(limits=1, user_api="blas")
        from memories import receivers  # noqa: F401  (connects them)
