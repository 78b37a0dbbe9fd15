"""Provider keys and the models an organisation enables, with the prices Potluck charges."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone

from accounts.models import Organization
from core.fields import EncryptedTextField

MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 9}


class Provider(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    MISTRAL = "mistral", "Mistral"
    GEMINI = "gemini", "Google Gemini"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible"


class ProviderKey(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="provider_keys"
    )
    provider = models.CharField(max_length=32, choices=Provider.choices)
    label = models.CharField(max_length=100)
    base_url = models.URLField(max_length=500, blank=True)
    # Ciphertext at rest; never serialised, logged or echoed. See core.fields.
    api_key = EncryptedTextField()
    key_last4 = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in chat (providers/migrations).
        db_table = "chat_providerkey"

    def __str__(self) -> str:
        return f"{self.provider}:{self.label}"

    def __repr__(self) -> str:
        # Never include the secret, even in a debugger or a traceback.
        return f"<ProviderKey {self.pk} {self.provider} {self.label!r}>"

    @property
    def masked_key(self) -> str:
        return f"…{self.key_last4}" if self.key_last4 else "…"


class AIModel(models.Model):
    """A model the organisation enabled, with the prices Potluck charges (USD per 1M tokens)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ai_models"
    )
    provider_key = models.ForeignKey(ProviderKey, on_delete=models.CASCADE, related_name="models")
    # The org-facing id (unique in the org) and the upstream model name.
    model_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    input_usd_per_mtok = models.DecimalField(**MONEY)
    output_usd_per_mtok = models.DecimalField(**MONEY)
    cached_input_usd_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    # Catalog rate for cache writes (Anthropic bills them above input); null = input price.
    cache_write_usd_per_mtok = models.DecimalField(**MONEY, null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "chat_aimodel"  # as ProviderKey: the table from before the move
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organization", "model_id"], name="aimodel_unique_id_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.model_id

    @property
    def provider(self) -> str:
        return self.provider_key.provider
