"""Prometheus metrics: `GET /metrics` in the text exposition format, behind a bearer token.

The endpoint answers 404 unless `METRICS_TOKEN` (or `METRICS_TOKEN_FILE`) is configured, and 401
unless the scrape sends `Authorization: Bearer <METRICS_TOKEN>`. Scrape it from the internal
network (`http://web:8000/metrics`); it is exempt from the HTTPS redirect for that reason.

Series:
- `potluck_http_requests_total{method,route,status}` and
  `potluck_http_request_duration_seconds{method,route}` (histogram), recorded by
  `MetricsMiddleware`. `route` is the URL pattern that matched (`api/conversations/<id:...>/`),
  never the raw path, so the number of series stays bounded; unmatched paths count as "unmatched".
- `potluck_active_generations{kind}` (gauge): generations running in this process, by kind
  (chat, title, api). Read at scrape time from `chat.registry.registry`, where the engine already
  registers every generation task, so the engine needs no extra call. (`ACTIVE_GENERATIONS.set()`
  still works for code outside the registry, but is overwritten at each scrape.)
- `potluck_provider_errors_total{provider,code}` (counter): the engine calls
  `PROVIDER_ERRORS.inc(provider="openai", code="provider_rate_limited")` for each failed call.
- `potluck_open_reservations` (gauge, from the database at scrape time): admitted provider calls
  not yet settled, across every process; a cross-check of the gauge above.
- `potluck_spend_usd_total{org_id,org}` (counter, from the database at scrape time): the sum of
  the usage ledger per organisation, cached for `SPEND_CACHE_SECONDS`.

Process model: the in-memory series (requests, active generations, provider errors) belong to
the process that serves `/metrics`. The Docker image runs ONE Daphne process, which both serves
HTTP and runs the generations, so they are complete there. Celery workers keep their own copies,
which nobody scrapes; nothing Potluck counts here happens in Celery. If you run several web
replicas, scrape each one (counters restart at zero on restart: use `rate()`/`increase()`).
The database-backed series (spend, open reservations) are the same from any replica.

Writing values is thread-safe and never blocks on I/O: it is safe from async code.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal

from asgiref.sync import markcoroutinefunction
from django.conf import settings
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import path

from core.exceptions import error_body

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SPEND_CACHE_SECONDS = 5.0
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: LabelValues, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float | int | Decimal) -> str:
    if isinstance(value, float) and value == float("inf"):
        return "+Inf"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.documentation}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class _ValueMetric(_Metric):
    """One number per label set: the storage and exposition Counter and Gauge share."""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        self._values: dict[LabelValues, float] = {}

    def _add(self, amount: float, labels: dict[str, str]) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        if not items and not self.labelnames:
            items = [((), 0.0)]
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]

    def reset(self) -> None:
        with self._lock:
            self._values.clear()


class Counter(_ValueMetric):
    """A value that only goes up (until the process restarts)."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("A counter cannot go down.")
        self._add(amount, labels)


class Gauge(_ValueMetric):
    """A value that goes up and down: things in progress."""

    kind = "gauge"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self._add(amount, labels)

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self._add(-amount, labels)

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...] = (),
        buckets: tuple[float, ...] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, documentation, labelnames)
        self.buckets = (*sorted(buckets), float("inf"))
        # Per label set: a count per bucket (not cumulative), the sum and the count.
        self._values: dict[LabelValues, tuple[list[int], float, int]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total, count = self._values.get(key, ([0] * len(self.buckets), 0.0, 0))
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[index] += 1
                    break
            self._values[key] = (counts, total + value, count + 1)

    def count(self, **labels: str) -> int:
        with self._lock:
            entry = self._values.get(self._key(labels))
        return entry[2] if entry else 0

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, (list(c), s, n)) for k, (c, s, n) in self._values.items())
        lines: list[str] = []
        for key, (counts, total, count) in items:
            cumulative = 0
            for bound, bucket_count in zip(self.buckets, counts, strict=True):
                cumulative += bucket_count
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {cumulative}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {count}")
        return lines

    def reset(self) -> None:
        with self._lock:
            self._values.clear()


HTTP_REQUESTS = Counter(
    "potluck_http_requests_total",
    "HTTP requests answered, by method, matched route and status code.",
    ("method", "route", "status"),
)
HTTP_LATENCY = Histogram(
    "potluck_http_request_duration_seconds",
    "Time to produce the HTTP response (streamed bodies: until the first byte), by route.",
    ("method", "route"),
)
ACTIVE_GENERATIONS = Gauge(
    "potluck_active_generations",
    "Generations (provider calls) running in this process right now, by kind.",
    ("kind",),
)
PROVIDER_ERRORS = Counter(
    "potluck_provider_errors_total",
    "Failed provider calls, by provider and contract error code.",
    ("provider", "code"),
)
PROCESS_METRICS: tuple[_Metric, ...] = (
    HTTP_REQUESTS,
    HTTP_LATENCY,
    ACTIVE_GENERATIONS,
    PROVIDER_ERRORS,
)


# --- Database-backed series, computed at scrape time --------------------------------------------

_ledger_cache: tuple[float, list[str]] | None = None
_ledger_lock = threading.Lock()


def _ledger_samples() -> list[str]:
    from billing.models import Reservation, ReservationStatus, UsageRecord

    rows = (
        UsageRecord.objects.order_by()
        .values("organization_id", "organization__name")
        .annotate(spend=Sum("cost_usd"))
        .order_by("organization_id")
    )
    lines = [
        "# HELP potluck_spend_usd_total Spend recorded in the usage ledger, by organisation (USD).",
        "# TYPE potluck_spend_usd_total counter",
    ]
    names = ("org_id", "org")
    for row in rows:
        # Decimal straight to text: the exposition format parses it, no float rounding on the way.
        spend: Decimal = row["spend"] or Decimal(0)
        labels = _labels(names, (str(row["organization_id"]), row["organization__name"]))
        lines.append(f"potluck_spend_usd_total{labels} {spend.normalize():f}")
    open_count = Reservation.objects.filter(status=ReservationStatus.OPEN).aggregate(n=Count("id"))[
        "n"
    ]
    lines += [
        "# HELP potluck_open_reservations Admitted provider calls not settled yet (all processes).",
        "# TYPE potluck_open_reservations gauge",
        f"potluck_open_reservations {open_count}",
    ]
    return lines


def ledger_samples() -> list[str]:
    """The database-backed lines, recomputed at most every SPEND_CACHE_SECONDS."""
    global _ledger_cache  # noqa: PLW0603
    with _ledger_lock:
        now = time.monotonic()
        if _ledger_cache is None or now - _ledger_cache[0] >= SPEND_CACHE_SECONDS:
            _ledger_cache = (now, _ledger_samples())
        return _ledger_cache[1]


def _refresh_active_generations() -> None:
    from chat.registry import registry

    # A snapshot of the dict (atomic under the GIL): the event loop may add or drop entries while
    # this thread counts. Done tasks are leaving the registry through their done callback.
    # (Read-only use of the private dict: `running()` only works inside the event loop.)
    entries = list(registry._entries.values())
    counts = dict.fromkeys(("chat", "title", "api"), 0)
    for entry in entries:
        if not entry.task.done():
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
    for kind, count in counts.items():
        ACTIVE_GENERATIONS.set(count, kind=kind)


def render(metrics: Iterable[_Metric] = PROCESS_METRICS) -> str:
    _refresh_active_generations()
    lines: list[str] = []
    for metric in metrics:
        lines += metric.header()
        lines += metric.samples()
    lines += ledger_samples()
    return "\n".join(lines) + "\n"


def reset() -> None:
    """Forget every in-memory value and the ledger cache (tests)."""
    global _ledger_cache  # noqa: PLW0603
    for metric in PROCESS_METRICS:
        metric.reset()
    with _ledger_lock:
        _ledger_cache = None


# --- The endpoint ------------------------------------------------------------------------------


def _configured_token() -> str:
    return str(getattr(settings, "METRICS_TOKEN", "") or "")


def metrics_view(request: HttpRequest) -> HttpResponseBase:
    """404 when metrics are off, 401 without the right bearer token, else the exposition text."""
    token = _configured_token()
    if not token:
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = JsonResponse(
            error_body("not_authenticated", "A valid metrics bearer token is required."),
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = HttpResponse(render(), content_type=CONTENT_TYPE)
    body["Cache-Control"] = "no-store"
    return body


# Included from server/urls.py as `path("metrics", include("core.metrics"))`.
urlpatterns = [path("", metrics_view, name="metrics")]


# --- Request metrics ---------------------------------------------------------------------------


# Any other method string is folded into "OTHER": clients must not be able to mint series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return str(match.route) or "/"


access_logger = logging.getLogger("potluck.access")


def _logged_path(request: HttpRequest, route: str) -> str:
    # API paths carry only ids; SPA paths may carry an invitation token, so they are shown as
    # their route. Query strings are never logged.
    return request.path if request.path.startswith(("/api/", "/v1/", "/admin/")) else route


class MetricsMiddleware:
    """Counts requests, times them, and writes the access log line (logger `potluck.access`).

    Async-only, so under Daphne it adds no thread hop. Put it first in MIDDLEWARE so the time
    includes every other middleware. (Daphne's own plain-text access log is turned off in
    docker/start/web: this one goes through the JSON formatter.)
    """

    async_capable = True
    sync_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        status = "500"
        try:
            response = await self.get_response(request)
            status = str(response.status_code)
            return response
        finally:
            elapsed = time.perf_counter() - started
            route = _route(request)
            method = request.method if request.method in _METHODS else "OTHER"
            HTTP_REQUESTS.inc(method=method, route=route, status=status)
            HTTP_LATENCY.observe(elapsed, method=method, route=route)
            access_logger.info(
                "%s %s %s",
                method,
                _logged_path(request, route),
                status,
                extra={
                    "status": int(status),
                    "duration_ms": round(elapsed * 1000, 1),
                    "client": request.META.get("REMOTE_ADDR"),
                },
            )
