from django.apps import AppConfig


class PlatformApiConfig(AppConfig):
    """Mem0's hosted Platform API (the official SDKs' dialect): a second front door to the same services."""

    name = "platform_api"
    default_auto_field = "django.db.models.BigAutoField"
