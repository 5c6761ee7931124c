from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Memory exports: the Platform's POST /v1/exports/ jobs, and the export_memories / import_memories backups."""

    name = "exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exports import receivers  # noqa: F401  (connects to memories_wiped)
