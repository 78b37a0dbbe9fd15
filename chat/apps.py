from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import extensions
        from chat.selectors import title_model_validate

        extensions.org_validators.append(title_model_validate)
