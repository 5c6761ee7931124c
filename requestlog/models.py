"""One row per API call: metadata only (for a refused call, the names of the fields it was refused for), never
bodies, values, headers or credentials."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RequestLog(models.Model):
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500, help_text="Without the query string.")
    route = models.CharField(
        max_length=500, blank=True, default="", db_default="", help_text="The path with its ids folded: /memories/{id}."
    )
    status_code = models.PositiveSmallIntegerField()
    latency_ms = models.FloatField()
    auth_type = models.CharField(max_length=16, help_text="bearer, api_key, admin_api_key, disabled or none")
    # No database constraint: a log row written just after its account or key was deleted must not fail.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "apikeys.APIKey", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    tool = models.CharField(
        max_length=64, blank=True, default="", db_default="", help_text="The MCP tool called (POST /mcp)."
    )
    client = models.CharField(
        max_length=128,
        blank=True,
        default="",
        db_default="",
        help_text="Who called, as the caller says: Mem0's SDKs' X-Mem0-Client (mem0-python/2.2.1), an integration's "
        "source (X-Mem0-Source, or source in the query: OPENCLAW, N8N), else the User-Agent.",
    )
    error = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text="What a refused call was refused for: the fields its answer named (messages.1.content), or the "
        "error's code; never a value.",
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "request"
        indexes = [models.Index(fields=["account", "-created_at"], name="requestlog_account_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"
