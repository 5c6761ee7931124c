"""OAuth for MCP clients: the clients that registered themselves, and what each account let them do.

Only SHA-256 digests of codes and tokens are stored (each carries 256 random bits); a client secret likewise.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# A grant's scope: all that the account's API key may do through MCP, or only the tools that change nothing.
SCOPE = "memories"
READ_SCOPE = "memories:read"


def reads_only(scope: str) -> bool:
    """Whether a scope lets its holder only read: it lacks `memories`."""
    return SCOPE not in scope.split()


class OAuthClient(models.Model):
    """A client registered by RFC 7591 dynamic registration (Claude, ChatGPT, an MCP SDK): anyone may register; or
    one whose client_id is the https URL of its metadata document (MCP's Client ID Metadata Documents), read from
    there when an account is asked to allow it."""

    client_id = models.CharField(max_length=2000, unique=True, editable=False)
    client_name = models.CharField(max_length=200, blank=True)
    redirect_uris = models.JSONField(help_text="The exact URIs a code may be sent to (loopback ones on any port).")
    token_endpoint_auth_method = models.CharField(max_length=32, default="none")
    # hex SHA-256 of the client secret, for the secret-carrying methods only; the secret is shown once.
    secret_digest = models.CharField(max_length=64, blank=True, editable=False)
    # When its metadata document was last read (None for a registered client): read again once it is older.
    metadata_fetched_at = models.DateTimeField(null=True, blank=True)
    # When an account last allowed it. Never: dropped a day after it registered (anyone may register); once allowed,
    # kept, so the app, disconnected or its tokens expired, is allowed again with the client_id it keeps.
    authorized_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "OAuth client"
        indexes = [models.Index(fields=["created_at"], name="oauthclient_created")]

    def __str__(self) -> str:
        return self.client_name or self.client_id


class OAuthGrant(models.Model):
    """One consent: an account let a client use its memories through MCP. Its code is used once, then its access
    token (short-lived) and refresh token (rotated at each use) act for the account until revoked or expired."""

    # What the request log and the views call this way in (apikeys.authentication.auth_type_of).
    auth_type = "oauth"

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_grants")
    scope = models.CharField(max_length=200)
    resource = models.CharField(max_length=2000)
    redirect_uri = models.CharField(max_length=2000)
    code_challenge = models.CharField(max_length=128)
    code_digest = models.CharField(max_length=64, unique=True, editable=False)
    code_expires_at = models.DateTimeField()
    code_used_at = models.DateTimeField(null=True, blank=True)
    access_digest = models.CharField(max_length=64, null=True, unique=True, editable=False)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_digest = models.CharField(max_length=64, null=True, unique=True, editable=False)
    # The refresh token this one replaced: presented again, it was stolen or replayed, and the grant ends.
    previous_refresh_digest = models.CharField(max_length=64, null=True, unique=True, editable=False)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # The answer that spent the previous refresh token, sealed with a key derived from that token (so only its
    # holder opens it): sent again to it until `previous_answer_until` (OAUTH_REFRESH_REUSE_SECONDS), for a client
    # that retries a refresh or sends two at once; later, that token ends the grant.
    previous_answer = models.TextField(blank=True, default="", db_default="", editable=False)
    previous_answer_until = models.DateTimeField(null=True, blank=True)
    # The account's token_generation at consent: deactivating it raises that, and the grant ends for good (as its
    # login tokens do; accounts.services.user_credentials_revoke).
    token_generation = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OAuth grant"
        indexes = [models.Index(fields=["user", "-created_at"], name="oauthgrant_user_created")]

    def __str__(self) -> str:
        return f"{self.client} for {self.user}"

    @property
    def read_only(self) -> bool:
        """Only the tools that change nothing (scope `memories:read`): what /mcp offers this grant."""
        return reads_only(self.scope)
