"""GET /metrics and the request middleware, through Django's real URL routing and handlers.

prometheus_client writes every value as a float (`3.0`) and sorts labels by name; Prometheus
reads both forms the same way."""

from __future__ import annotations

import asyncio
import logging
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import AsyncClient, Client, override_settings

from billing.metrics import ledger_collector
from billing.models import UsageRecord
from chat.registry import registry
from core import metrics

TOKEN = "scrape-token-0123456789"
WITH_MIDDLEWARE = ["core.metrics.MetricsMiddleware", *settings.MIDDLEWARE]


@pytest.fixture(autouse=True)
def _fresh_metrics():
    metrics.reset()
    ledger_collector.reset()
    yield
    metrics.reset()
    ledger_collector.reset()


def scrape(client: Client, token: str = TOKEN) -> str:
    r = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200
    return r.content.decode()


def record(org, user, cost: str) -> UsageRecord:
    return UsageRecord.objects.create(
        organization=org,
        user=user,
        model="gpt-test",
        upstream_model="gpt-test",
        provider="openai",
        source="chat",
        call_id=uuid.uuid4().hex,
        input_usd_per_mtok=Decimal(1),
        output_usd_per_mtok=Decimal(2),
        cost_usd=Decimal(cost),
    )


@pytest.mark.django_db
def test_it_is_hidden_until_a_token_is_configured() -> None:
    with override_settings(METRICS_TOKEN=""):
        r = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_it_refuses_a_missing_or_wrong_token() -> None:
    client = Client()
    for header in (None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"):
        r = client.get("/metrics", headers={"Authorization": header} if header else {})
        assert r.status_code == 401, header
        assert r.json()["code"] == "not_authenticated"
        assert r["WWW-Authenticate"].startswith("Bearer")
    r = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 200
    assert r["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_it_exposes_every_metric_family() -> None:
    text = scrape(Client())
    for family, kind in (
        ("potluck_http_requests_total", "counter"),
        ("potluck_http_request_duration_seconds", "histogram"),
        ("potluck_active_generations", "gauge"),
        ("potluck_provider_errors_total", "counter"),
        ("potluck_spend_usd_total", "counter"),
        ("potluck_open_reservations", "gauge"),
    ):
        assert f"# TYPE {family} {kind}\n" in text, family
        assert f"# HELP {family} " in text, family
    assert 'potluck_active_generations{kind="chat"} 0.0\n' in text
    assert "potluck_open_reservations 0.0\n" in text


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_sums_spend_by_org_exactly_and_caches_it(acme, globex, alice, bob, charlie) -> None:
    record(acme, alice, "0.000123400")
    record(acme, bob, "1.5")
    record(globex, charlie, "0.25")
    globex.name = 'Globex "West"'
    globex.save(update_fields=["name"])
    text = scrape(Client())
    # Summed as Decimal in the database: 1.5 + 0.0001234 exactly (float64 holds 15 digits).
    assert f'potluck_spend_usd_total{{org="Acme",org_id="{acme.id}"}} 1.5001234\n' in text
    assert f'potluck_spend_usd_total{{org="Globex \\"West\\"",org_id="{globex.id}"}} 0.25\n' in text
    # Within the cache window a new ledger row is not visible; after it, it is.
    record(globex, charlie, "0.75")
    assert f'org="Globex \\"West\\"",org_id="{globex.id}"}} 0.25\n' in scrape(Client())
    ledger_collector.reset()
    assert f'org="Globex \\"West\\"",org_id="{globex.id}"}} 1.0\n' in scrape(Client())


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN, MIDDLEWARE=WITH_MIDDLEWARE)
def test_it_counts_and_times_requests_by_route() -> None:
    client = Client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/api/no-such-thing/").status_code == 404
    assert client.get("/api/auth/me/").status_code in {401, 403}
    text = scrape(client)
    assert 'potluck_http_requests_total{method="GET",route="healthz",status="200"} 3.0\n' in text
    assert 'potluck_http_requests_total{method="GET",route="unmatched",status="404"} 1.0\n' in text
    assert 'potluck_http_request_duration_seconds_count{method="GET",route="healthz"} 3.0\n' in text
    assert (
        'potluck_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="healthz"} 3.0\n'
        in text
    )
    # Routes are URL patterns: ids in paths cannot create new series.
    assert client.get("/api/conversations/123/").status_code in {401, 403}
    assert client.get("/api/conversations/456/").status_code in {401, 403}
    conversation_routes = {
        line.split('route="')[1].split('"')[0]
        for line in scrape(client).splitlines()
        if line.startswith("potluck_http_requests_total{") and "conversations" in line
    }
    assert len(conversation_routes) == 1
    assert "<id:" in next(iter(conversation_routes))


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@override_settings(METRICS_TOKEN=TOKEN, MIDDLEWARE=WITH_MIDDLEWARE)
async def test_it_runs_in_the_async_handler_without_a_thread_hop() -> None:
    assert metrics.MetricsMiddleware.async_capable
    assert not metrics.MetricsMiddleware.sync_capable
    r = await AsyncClient().get("/healthz")
    assert r.status_code == 200
    labels = {"method": "GET", "route": "healthz", "status": "200"}
    assert metrics.REGISTRY.get_sample_value("potluck_http_requests_total", labels) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@override_settings(METRICS_TOKEN=TOKEN)
async def test_it_reports_running_generations_from_the_registry() -> None:
    release = asyncio.Event()
    task = asyncio.create_task(release.wait())
    registry.add(key=f"deploy-test-{uuid.uuid4().hex}", task=task, user_id=1, kind="chat")
    text = await sync_to_async(metrics.render)()
    assert 'potluck_active_generations{kind="chat"} 1.0\n' in text
    release.set()
    await task
    text = await sync_to_async(metrics.render)()
    assert 'potluck_active_generations{kind="chat"} 0.0\n' in text


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_it_counts_provider_errors_by_provider_and_code() -> None:
    metrics.PROVIDER_ERRORS.labels(provider="anthropic", code="provider_unavailable").inc()
    metrics.PROVIDER_ERRORS.labels(provider="anthropic", code="provider_unavailable").inc()
    metrics.PROVIDER_ERRORS.labels(provider="openai", code="provider_auth").inc()
    text = scrape(Client())
    assert (
        'potluck_provider_errors_total{code="provider_unavailable",provider="anthropic"} 2.0\n'
        in text
    )
    assert 'potluck_provider_errors_total{code="provider_auth",provider="openai"} 1.0\n' in text
    with pytest.raises(ValueError, match="label names"):
        metrics.PROVIDER_ERRORS.labels(provider="openai")
    with pytest.raises(ValueError, match="non-negative"):
        metrics.PROVIDER_ERRORS.labels(provider="openai", code="x").inc(-1)


@pytest.mark.django_db
@override_settings(MIDDLEWARE=WITH_MIDDLEWARE)
def test_it_writes_one_access_log_record_per_request_without_secrets(caplog) -> None:
    client = Client()
    with caplog.at_level(logging.INFO, logger="potluck.access"):
        client.get("/api/conversations/?q=private+words")
        client.get("/invite/secret-invitation-token-123")
    api, spa = (r for r in caplog.records if r.name == "potluck.access")
    assert api.getMessage() in {"GET /api/conversations/ 401", "GET /api/conversations/ 403"}
    assert api.duration_ms >= 0
    # SPA paths can hold invitation tokens: they are logged as their route, never verbatim.
    assert "secret-invitation-token" not in spa.getMessage()
    assert "private" not in caplog.text
    assert "secret-invitation-token" not in caplog.text
