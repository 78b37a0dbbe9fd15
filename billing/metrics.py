"""Billing's Prometheus series, computed from the database at scrape time.

- `potluck_spend_usd_total{org_id,org}` (counter): the usage ledger's sum per organisation
  (USD), recomputed at most every SPEND_CACHE_SECONDS.
- `potluck_open_reservations` (gauge): admitted provider calls not settled yet, across every
  process; a cross-check of `potluck_active_generations`.

Both read the database, so any web process gives the same answer: they are not stored per
process like core.metrics' series. BillingConfig.ready registers the collector with core.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

SPEND_CACHE_SECONDS = 5.0


def _ledger_metrics() -> list[Metric]:
    from billing.models import Reservation, ReservationStatus, UsageRecord

    spend = CounterMetricFamily(
        "potluck_spend_usd_total",
        "Spend recorded in the usage ledger, by organisation (USD).",
        labels=("org_id", "org"),
    )
    rows = (
        UsageRecord.objects.order_by()
        .values("organization_id", "organization__name")
        .annotate(spend=Sum("cost_usd"))
        .order_by("organization_id")
    )
    for row in rows:
        total: Decimal = row["spend"] or Decimal(0)
        # The exposition format carries float64 (what Prometheus stores): exact to 15 digits.
        spend.add_metric((str(row["organization_id"]), row["organization__name"]), float(total))
    open_count = Reservation.objects.filter(status=ReservationStatus.OPEN).aggregate(n=Count("id"))[
        "n"
    ]
    reservations = GaugeMetricFamily(
        "potluck_open_reservations",
        "Admitted provider calls not settled yet (all processes).",
        value=open_count,
    )
    return [spend, reservations]


class LedgerCollector:
    """The database-backed series, recomputed at most every SPEND_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            now = time.monotonic()
            if self._cache is None or now - self._cache[0] >= SPEND_CACHE_SECONDS:
                self._cache = (now, _ledger_metrics())
            return self._cache[1]

    def reset(self) -> None:
        """Forget the cached values (tests)."""
        with self._lock:
            self._cache = None


ledger_collector = LedgerCollector()
