from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.metrics import ledger_collector
        from core.metrics import register_scrape_collector

        register_scrape_collector(ledger_collector)
        from accounts import extensions
        from billing.selectors import members_with_spend

        extensions.member_annotators.append(members_with_spend)
