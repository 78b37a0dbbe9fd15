"""Django admin for provider keys and models. The secret is write-only here: the change form has
a "new key" input that is never pre-filled, and lists show the masked key only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_record
from core.exceptions import ApplicationError
from providers.models import AIModel, Provider, ProviderKey
from providers.services import (
    API_KEY_MAX_LENGTH,
    MASK_MIN_KEY_LENGTH,
    provider_key_origin_change_check,
)


class ProviderKeyAdminForm(forms.ModelForm[ProviderKey]):
    # Set by clean() when the key would go to another origin (with the key entered again).
    origin_changed: bool = False
    origin_from: str = ""

    new_api_key = forms.CharField(
        label="New API key",
        required=False,
        max_length=API_KEY_MAX_LENGTH,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current key. Saving a new key rotates it.",
    )

    class Meta:
        model = ProviderKey
        fields = ("organization", "provider", "label", "base_url")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        creating = self.instance.pk is None
        hosted = data.get("provider") != Provider.OPENAI_COMPATIBLE
        if creating and hosted and not data.get("new_api_key"):
            self.add_error("new_api_key", "This provider needs an API key.")
        if not creating and {"provider", "base_url"} & set(self.changed_data):
            # The instance still holds the saved provider and base URL until the form saves.
            saved = ProviderKey.objects.get(pk=self.instance.pk)
            try:
                self.origin_changed = provider_key_origin_change_check(
                    provider_key=saved,
                    provider=data.get("provider") or saved.provider,
                    base_url=data.get("base_url") or "",
                    new_key_given=bool(data.get("new_api_key")),
                )
                self.origin_from = saved.base_url
            except ApplicationError:
                self.add_error("new_api_key", "Enter the API key again to change its origin.")
        return data


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin[ProviderKey]):
    form = ProviderKeyAdminForm
    list_display = ("id", "organization", "provider", "label", "masked_key", "last_used_at")
    list_filter = ("provider",)
    search_fields = ("label", "organization__name")
    readonly_fields = ("masked_key", "created_at", "rotated_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: ProviderKey, form: Any, change: bool) -> None:
        new_key: str = form.cleaned_data.get("new_api_key") or ""
        if new_key or not change:
            obj.api_key = new_key  # type: ignore[assignment]  # untyped encrypted field
            obj.key_last4 = new_key[-4:] if len(new_key) >= MASK_MIN_KEY_LENGTH else ""
            if change:
                obj.rotated_at = timezone.now()
        super().save_model(request, obj, form, change)
        if change and form.origin_changed:
            audit_record(
                org=obj.organization,
                actor=request.user,
                action="provider_key.origin_changed",
                target=obj,
                data={"from": form.origin_from, "to": obj.base_url, "via": "admin"},
            )
        if new_key and change:
            audit_record(
                org=obj.organization,
                actor=request.user,
                action="provider_key.rotated",
                target=obj,
                data={"masked_key": obj.masked_key, "via": "admin"},
            )


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin[AIModel]):
    list_display = (
        "model_id",
        "organization",
        "name",
        "input_usd_per_mtok",
        "output_usd_per_mtok",
        "cached_input_usd_per_mtok",
        "enabled",
    )
    list_filter = ("enabled",)
    search_fields = ("model_id", "name", "organization__name")
    list_select_related = ("organization", "provider_key")
    raw_id_fields = ("provider_key",)
