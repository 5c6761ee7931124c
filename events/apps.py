from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Async adds: an Event row per queued add (GET /v1/event/{id}/), run by a procrastinate job (tasks.py)."""

    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from events import receivers  # noqa: F401  (connects to memories_wiped)
