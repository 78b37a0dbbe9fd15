"""Prometheus metrics: `GET /metrics` in the text exposition format, behind a bearer token.

The endpoint answers 404 unless `METRICS_TOKEN` (or `METRICS_TOKEN_FILE`) is configured, and 401
unless the scrape sends `Authorization: Bearer <METRICS_TOKEN>`. Scrape it from the internal
network (`http://web:8000/metrics`); it is exempt from the HTTPS redirect for that reason.

The series are `prometheus_client` metrics:
- `potluck_http_requests_total{method,route,status}` and
  `potluck_http_request_duration_seconds{method,route}` (histogram), recorded by
  `MetricsMiddleware`. `route` is the URL pattern that matched (`api/conversations/<id:...>/`),
  never the raw path, so the number of series stays bounded; unmatched paths count as "unmatched".
- `potluck_active_generations{kind}` (gauge): generations running right now, by kind (chat,
  title, api); `chat.registry` moves it as generations start and end.
- `potluck_provider_errors_total{provider,code}` (counter): failed provider calls.
- Series an app computes at scrape time (billing's spend and open reservations) come from
  collectors the app registers with `register_scrape_collector`: core imports no app above it.

Process model: with `PROMETHEUS_MULTIPROC_DIR` set (docker/start/web and `make run` set it for
the web processes and empty it at start), prometheus_client's multiprocess mode is on: every
process writes its values to its own files in that directory, and a scrape of any one process
adds up all of them (`MultiProcessCollector`). The active-generations gauge is `livesum`: a
process that exits removes its files for it (`mark_process_dead`). Without the variable (tests,
`manage.py runserver`) the values live in this process only. The variable must be set before
the process starts: prometheus_client picks its storage at import.
"""

from __future__ import annotations

import atexit
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import path
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from core.exceptions import error_body

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
GENERATION_KINDS = ("chat", "title", "api")

# No `*_created` series: multiprocess mode cannot store them, so the two modes would differ.
disable_created_metrics()

# This process's metrics. Not the library's global REGISTRY: its process and GC collectors
# describe one process only, which is wrong once several web processes are scraped as one.
REGISTRY = CollectorRegistry()

HTTP_REQUESTS = Counter(
    "potluck_http_requests_total",
    "HTTP requests answered, by method, matched route and status code.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "potluck_http_request_duration_seconds",
    "Time to produce the HTTP response (streamed bodies: until the first byte), by route.",
    ("method", "route"),
    buckets=DEFAULT_BUCKETS,
    registry=REGISTRY,
)
ACTIVE_GENERATIONS = Gauge(
    "potluck_active_generations",
    "Generations (provider calls) running right now, by kind.",
    ("kind",),
    registry=REGISTRY,
    # Summed over the processes alive; a dead process's files go with mark_process_dead.
    multiprocess_mode="livesum",
)
PROVIDER_ERRORS = Counter(
    "potluck_provider_errors_total",
    "Failed provider calls, by provider and contract error code.",
    ("provider", "code"),
    registry=REGISTRY,
)


def _precreate_series() -> None:
    # Every kind shows 0 from the first scrape, not only once a generation of it ran.
    for kind in GENERATION_KINDS:
        ACTIVE_GENERATIONS.labels(kind=kind)


_precreate_series()

_scrape_collectors: list[Collector] = []


def register_scrape_collector(collector: Collector) -> None:
    """Add a collector computed at each scrape (from an app's `AppConfig.ready`).

    Its series are not stored per process, so it must give the same answer in any process
    (e.g. read the database)."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def scrape_registry() -> CollectorRegistry:
    """What one scrape shows: every web process's series (or this process's), then the apps'."""
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(REGISTRY)
    for collector in _scrape_collectors:
        registry.register(collector)
    return registry


def render() -> str:
    return generate_latest(scrape_registry()).decode()


def reset() -> None:
    """Forget this process's values (tests; in multiprocess mode the files stay)."""
    for metric in (HTTP_REQUESTS, HTTP_LATENCY, ACTIVE_GENERATIONS, PROVIDER_ERRORS):
        metric.clear()
    _precreate_series()


def _mark_this_process_dead() -> None:
    directory = multiprocess_dir()
    if directory:
        mark_process_dead(os.getpid(), directory)


# A web process that exits takes its live gauges with it (a process that dies without running
# atexit is cleaned when the directory is emptied at the next start).
atexit.register(_mark_this_process_dead)


# --- The endpoint ------------------------------------------------------------------------------


def metrics_view(request: HttpRequest) -> HttpResponseBase:
    """404 when metrics are off, 401 without the right bearer token, else the exposition text."""
    token: str = settings.METRICS_TOKEN
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
            # A write to memory (an mmap'd file in multiprocess mode): no I/O wait on the loop.
            HTTP_REQUESTS.labels(method=method, route=route, status=status).inc()
            HTTP_LATENCY.labels(method=method, route=route).observe(elapsed)
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
