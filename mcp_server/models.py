"""OpenMemory's MCP over SSE (mcp_server/streams.py): the streams open, and the answers waiting for theirs.

A client holds a GET stream on one server process and POSTs its requests, which any process may answer: the
answer is written here and the stream's process told by a NOTIFY (mem0server/listening.py) to send it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class SseSession(models.Model):
    """An open SSE stream: who opened it (only they may post to it) and the scope its tools work in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # None: an admin with no account (ADMIN_API_KEY, AUTH_DISABLED), as memories' owner is.
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    # The credential the stream was opened with, checked at each keepalive (sse.answers_take): once it no longer
    # authenticates (a key revoked or deleted, an app disconnected, a login token expired, the account deactivated)
    # the stream ends. None for each kind it was not: the admin principal has none.
    api_key = models.ForeignKey("apikeys.APIKey", null=True, on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey("oauth.OAuthGrant", null=True, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(null=True)
    client_name = models.CharField(max_length=100)
    user_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    # Raised by the stream now and then: a session whose process died without closing it is pruned once stale.
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "MCP SSE session"

    def __str__(self) -> str:
        return f"{self.client_name} for {self.user_id}"


class SseMessage(models.Model):
    """A JSON-RPC answer for a session's stream, sent and deleted by the process holding the stream."""

    session = models.ForeignKey(SseSession, on_delete=models.CASCADE, related_name="messages")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"answer {self.pk} for {self.session_id}"
