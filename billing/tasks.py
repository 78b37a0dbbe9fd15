"""Periodic and deferred billing work, scheduled in CELERY_BEAT_SCHEDULE (server/settings/base.py).

Every task is idempotent and safe to run twice or in two workers at once: the reaper locks each
reservation, warnings are unique per threshold and period, rollups are upserts.
"""

from __future__ import annotations

from celery import shared_task

# A call with no heartbeat for this long is treated as dead. Streams heartbeat far more often.
REAP_AFTER_SECONDS = 15 * 60
# The warnings scan looks at counters that moved this recently (beat runs it every minute).
WARNINGS_SCAN_SECONDS = 5 * 60


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def reservation_reap(older_than_seconds: int = REAP_AFTER_SECONDS) -> int:
    from datetime import timedelta

    from billing.gate import reservation_reap as reservation_reap_service

    return reservation_reap_service(older_than=timedelta(seconds=older_than_seconds))


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def budget_warnings_check(organization_id: int, user_id: int | None = None) -> int:
    """Queued (on commit) after a settlement under a budget that warns."""
    from billing.budgets import budget_warnings_send

    return budget_warnings_send(organization_id=organization_id, user_id=user_id)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def budget_warnings_scan(since_seconds: int = WARNINGS_SCAN_SECONDS) -> int:
    from datetime import timedelta

    from billing.budgets import budget_warnings_scan as budget_warnings_scan_service

    return budget_warnings_scan_service(since=timedelta(seconds=since_seconds))


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def usage_rollup(days_back: int = 1) -> int:
    from billing.budgets import usage_rollup as usage_rollup_service

    return usage_rollup_service(days_back=days_back)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def warning_emails_send() -> int:
    """Queued when a settlement records a warning: e-mail it (the frame went out already)."""
    from billing.budgets import warning_emails_send as warning_emails_send_service

    return warning_emails_send_service()
