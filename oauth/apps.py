from django.apps import AppConfig

# Browser-based MCP clients (the MCP Inspector, web apps) read the metadata and register and get tokens from their
# own origin. These answers are the same for every origin and no cookie counts on them, so any origin may read them.
OPEN_TO_EVERY_ORIGIN = ("/.well-known/oauth-", "/oauth/")


def cors_for_oauth(sender, request, **kwargs) -> bool:
    return request.path.startswith(OPEN_TO_EVERY_ORIGIN)


class OAuthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth for MCP clients"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        check_request_enabled.connect(cors_for_oauth)
