"""Periodic billing work. Schedule `reservation_reap_task` every minute from Celery beat."""

from __future__ import annotations

from celery import shared_task

# A call with no heartbeat for this long is treated as dead. Streams heartbeat far more often.
REAP_AFTER_SECONDS = 15 * 60


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def reservation_reap(older_than_seconds: int = REAP_AFTER_SECONDS) -> int:
    from datetime import timedelta

    from billing.gate import reservation_reap as reservation_reap_service

    return reservation_reap_service(older_than=timedelta(seconds=older_than_seconds))
