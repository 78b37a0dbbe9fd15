"""Personal API tokens for the OpenAI-compatible /v1 API."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Organization


class ApiToken(models.Model):
    """A personal API token for the OpenAI-compatible /v1 API.

    Only a keyed hash of the secret is stored (HMAC-SHA256, see gateway.token_services); the
    secret itself is shown once, at creation. `prefix` and `last4` let people recognise it.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A lower cap on this token's total spend (None = only the member's and org's budgets).
    max_budget_usd = models.DecimalField(max_digits=20, decimal_places=9, null=True, blank=True)
    # Org model ids this token may use (the API's `models`); empty = every model the member may use.
    allowed_models = models.JSONField(default=list, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in accounts (gateway/migrations).
        db_table = "accounts_apitoken"
        indexes: ClassVar = [models.Index(fields=["organization", "user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…{self.last4})"
