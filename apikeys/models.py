"""Per-user API keys: only a SHA-256 digest and a short display prefix are stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class APIKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=12, help_text="The first 12 characters, to recognise the key.")
    # hex SHA-256 of the whole key; the key itself is shown once and never stored.
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [models.Index(fields=["user", "-created_at"], name="apikey_user_created")]

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.label})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
