"""The usage read endpoints: /api/usage/me/, records/, summary/, export.csv."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import pytest
from django.http import StreamingHttpResponse

from accounts.models import Organization, User
from billing.models import UsageRecord
from tests.billing.conftest import gate_open
from tests.conftest import login

_calls = itertools.count(1)


def make_record(
    *,
    user: User,
    created_at: datetime,
    model: str = "gpt-4o-mini",
    cost: str = "0.001000000",
    input_tokens: int = 100,
    output_tokens: int = 50,
) -> UsageRecord:
    return UsageRecord.objects.create(
        organization=user.membership.organization,
        user=user,
        model=model,
        upstream_model=model,
        provider="openai",
        provider_key_id=1,
        source="chat",
        call_id=f"call-{next(_calls)}",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_usd_per_mtok=Decimal("0.15"),
        output_usd_per_mtok=Decimal("0.60"),
        cost_usd=Decimal(cost),
        created_at=created_at,
    )


NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen(time_machine) -> None:
    time_machine.move_to(NOW, tick=False)


def test_it_reports_my_spend_in_the_current_month(
    api_client, frozen, alice, bob, charlie, acme_model
) -> None:
    make_record(user=bob, created_at=datetime(2025, 3, 2, tzinfo=UTC), cost="0.000123400")
    make_record(user=bob, created_at=datetime(2025, 3, 3, tzinfo=UTC), cost="0.000200000")
    make_record(user=bob, created_at=datetime(2025, 3, 4, tzinfo=UTC), model="o3", cost="0.5")
    make_record(user=bob, created_at=datetime(2025, 2, 28, tzinfo=UTC), cost="9")  # last month
    make_record(user=alice, created_at=datetime(2025, 3, 5, tzinfo=UTC), cost="7")
    make_record(user=charlie, created_at=datetime(2025, 3, 5, tzinfo=UTC), cost="8")
    gate_open(
        user=bob, ai_model=acme_model, prompt_tokens_upper=1000, max_tokens=500, source="chat"
    )

    body = login(api_client, bob).get("/api/usage/me/").json()

    assert body["period"] == {
        "kind": "monthly",
        "start": "2025-03-01T00:00:00Z",
        "end": "2025-04-01T00:00:00Z",
    }
    assert Decimal(body["spent_usd"]) == Decimal("0.5003234")
    assert body["spent_usd"] == "0.500323400"
    assert body["reserved_usd"] == "0.000450000"
    assert body["limit_usd"] is None
    assert body["remaining_usd"] is None
    assert body["by_model"] == [
        {
            "model": "o3",
            "requests": 1,
            "input_tokens": 100,
            "output_tokens": 50,
            "cost_usd": "0.500000000",
        },
        {
            "model": "gpt-4o-mini",
            "requests": 2,
            "input_tokens": 200,
            "output_tokens": 100,
            "cost_usd": "0.000323400",
        },
    ]
    # The member's own daily series for the period (last month's and others' rows left out).
    assert [(row["day"], row["cost_usd"]) for row in body["by_day"]] == [
        ("2025-03-02", "0.000123400"),
        ("2025-03-03", "0.000200000"),
        ("2025-03-04", "0.500000000"),
    ]


def test_it_uses_the_orgs_time_zone_for_the_period(api_client, frozen, bob) -> None:
    Organization.objects.filter(pk=bob.membership.organization_id).update(
        time_zone="America/New_York"
    )
    # 03:00 UTC on 1 March is still February in New York.
    make_record(user=bob, created_at=datetime(2025, 3, 1, 3, 0, tzinfo=UTC), cost="1")
    make_record(user=bob, created_at=datetime(2025, 3, 1, 6, 0, tzinfo=UTC), cost="2")

    body = login(api_client, bob).get("/api/usage/me/").json()

    assert body["period"]["start"] == "2025-03-01T05:00:00Z"
    assert body["period"]["end"] == "2025-04-01T04:00:00Z"  # daylight saving began in March
    assert body["spent_usd"] == "2.000000000"


def test_it_reports_nothing_for_a_new_user(api_client, frozen, charlie) -> None:
    body = login(api_client, charlie).get("/api/usage/me/").json()

    assert body["spent_usd"] == "0.000000000"
    assert body["reserved_usd"] == "0.000000000"
    assert body["by_model"] == []


def test_it_requires_login_for_my_usage(api_client) -> None:
    response = api_client.get("/api/usage/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_it_lists_records_for_admins_only(api_client, frozen, alice, bob, charlie) -> None:
    mine = make_record(user=bob, created_at=datetime(2025, 3, 2, tzinfo=UTC), cost="0.0001234")
    make_record(user=charlie, created_at=datetime(2025, 3, 2, tzinfo=UTC))

    refused = login(api_client, bob).get("/api/usage/records/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"

    body = login(api_client, alice).get("/api/usage/records/").json()
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    assert body["results"] == [
        {
            "id": mine.pk,
            "user": bob.pk,
            "user_email": "bob@acme.test",
            "model": "gpt-4o-mini",
            "upstream_model": "gpt-4o-mini",
            "provider": "openai",
            "provider_key": 1,
            "conversation_id": None,
            "message_id": None,
            "api_token": None,
            "source": "chat",
            "input_tokens": 100,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "output_tokens": 50,
            "reasoning_tokens": 0,
            "input_usd_per_mtok": "0.150000000",
            "cached_input_usd_per_mtok": None,
            "cache_write_usd_per_mtok": None,
            "output_usd_per_mtok": "0.600000000",
            "cost_usd": "0.000123400",
            "estimated": False,
            "created_at": "2025-03-02T00:00:00Z",
        }
    ]


def test_it_hides_other_orgs_records_from_their_admin(api_client, frozen, bob, charlie) -> None:
    make_record(user=bob, created_at=datetime(2025, 3, 2, tzinfo=UTC))

    body = login(api_client, charlie).get(f"/api/usage/records/?user={bob.pk}").json()

    assert body["count"] == 0
    assert body["results"] == []


def test_it_pages_records_newest_first(api_client, frozen, alice, bob) -> None:
    records = [
        make_record(user=bob, created_at=datetime(2025, 3, day, tzinfo=UTC)) for day in range(1, 8)
    ]
    client = login(api_client, alice)

    first = client.get("/api/usage/records/?page_size=3").json()
    last = client.get("/api/usage/records/?page_size=3&page=3").json()

    assert first["count"] == 7
    assert [row["id"] for row in first["results"]] == [r.pk for r in records[::-1][:3]]
    assert "page=2" in first["next"]
    assert first["previous"] is None
    assert [row["id"] for row in last["results"]] == [records[0].pk]
    assert last["next"] is None


def test_it_caps_the_page_size_at_500(api_client, frozen, alice, bob) -> None:
    UsageRecord.objects.bulk_create(
        [
            UsageRecord(
                organization=bob.membership.organization,
                user=bob,
                model="m",
                upstream_model="m",
                provider="openai",
                source="chat",
                call_id=f"bulk-{n}",
                input_usd_per_mtok=Decimal(0),
                output_usd_per_mtok=Decimal(0),
                cost_usd=Decimal(0),
            )
            for n in range(501)
        ]
    )

    body = login(api_client, alice).get("/api/usage/records/?page_size=1000").json()

    assert body["count"] == 501
    assert len(body["results"]) == 500


def test_it_filters_records_by_user_and_dates(api_client, frozen, alice, bob) -> None:
    Organization.objects.filter(pk=alice.membership.organization_id).update(
        time_zone="Europe/Paris"
    )
    early = make_record(user=bob, created_at=datetime(2025, 3, 1, 23, 30, tzinfo=UTC))  # 2 Mar
    late = make_record(user=bob, created_at=datetime(2025, 3, 3, 22, 59, tzinfo=UTC))  # 3 Mar
    next_day = make_record(user=bob, created_at=datetime(2025, 3, 3, 23, 0, tzinfo=UTC))  # 4 Mar
    make_record(user=bob, created_at=datetime(2025, 3, 1, 22, 59, tzinfo=UTC))  # 1 Mar in Paris
    by_alice = make_record(user=alice, created_at=datetime(2025, 3, 2, 12, tzinfo=UTC))
    client = login(api_client, alice)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/usage/records/?{query}")
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    # Dates are whole days in the org's time zone, `to` inclusive.
    assert ids("from=2025-03-02&to=2025-03-03") == [late.pk, by_alice.pk, early.pk]
    assert ids(f"from=2025-03-02&to=2025-03-03&user={bob.pk}") == [late.pk, early.pk]
    # Datetimes are taken as given (with offset, or naive in the org's time zone), `to` inclusive.
    assert ids("from=2025-03-03T22:59:00Z&to=2025-03-03T22:59:00Z") == [late.pk]
    assert ids("from=2025-03-03T23:59:00") == [next_day.pk, late.pk]  # Paris 23:59 = 22:59 UTC


def test_it_refuses_bad_filters(api_client, alice) -> None:
    client = login(api_client, alice)

    for query, field in [
        ("from=yesterday", "from"),
        ("to=2025-02-30", "to"),
        ("from=2025-03-05&to=2025-03-01", "to"),
        ("user=abc", "user"),
        ("page_size=0", "page_size"),
    ]:
        response = client.get(f"/api/usage/records/?{query}")
        assert response.status_code == 400, query
        body = response.json()
        assert body["code"] == "validation_error"
        assert field in body["detail"]["fields"], query


def test_it_lists_records_in_constant_queries(
    api_client, frozen, alice, bob, django_assert_num_queries
) -> None:
    client = login(api_client, alice)
    for day in range(1, 4):
        make_record(user=bob, created_at=datetime(2025, 3, day, tzinfo=UTC))
    # session, user, membership, organisation, count, page
    with django_assert_num_queries(6):
        assert len(client.get("/api/usage/records/").json()["results"]) == 3
    for day in range(4, 20):
        make_record(user=alice, created_at=datetime(2025, 3, day, tzinfo=UTC))
    with django_assert_num_queries(6):
        assert len(client.get("/api/usage/records/").json()["results"]) == 19


def test_it_reads_my_usage_in_constant_queries(
    api_client, frozen, bob, django_assert_num_queries
) -> None:
    client = login(api_client, bob)
    for n in range(6):
        make_record(user=bob, created_at=datetime(2025, 3, 2, tzinfo=UTC), model=f"m{n % 3}")
    # session, user, membership, organisation, the applying budget, the member's counter (and,
    # as no call was admitted this period, the ledger's spend instead), by-model totals, by-day
    # totals
    with django_assert_num_queries(9):
        assert len(client.get("/api/usage/me/").json()["by_model"]) == 3


def test_it_summarises_usage_by_user_model_and_day(api_client, frozen, alice, bob) -> None:
    make_record(user=bob, created_at=datetime(2025, 3, 2, 10, tzinfo=UTC), cost="1")
    make_record(user=bob, created_at=datetime(2025, 3, 2, 11, tzinfo=UTC), model="o3", cost="2")
    make_record(user=alice, created_at=datetime(2025, 3, 3, tzinfo=UTC), cost="4")
    client = login(api_client, alice)

    by_user = client.get("/api/usage/summary/?group_by=user").json()
    by_model = client.get("/api/usage/summary/?group_by=model&from=2025-03-02&to=2025-03-02")
    by_day = client.get("/api/usage/summary/?group_by=day").json()

    assert [(r["user"], r["requests"], r["cost_usd"]) for r in by_user] == [
        (alice.pk, 1, "4.000000000"),
        (bob.pk, 2, "3.000000000"),
    ]
    assert [(r["model"], r["input_tokens"], r["cost_usd"]) for r in by_model.json()] == [
        ("gpt-4o-mini", 100, "1.000000000"),
        ("o3", 100, "2.000000000"),
    ]
    assert [(r["day"], r["requests"], r["output_tokens"]) for r in by_day] == [
        ("2025-03-02", 2, 100),
        ("2025-03-03", 1, 50),
    ]


def test_it_guards_the_summary(api_client, bob, alice) -> None:
    assert login(api_client, bob).get("/api/usage/summary/").status_code == 403
    response = login(api_client, alice).get("/api/usage/summary/?group_by=week")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_it_exports_the_ledger_as_csv(api_client, frozen, alice, bob, charlie) -> None:
    make_record(user=bob, created_at=datetime(2025, 3, 2, tzinfo=UTC), cost="0.0001234")
    make_record(user=bob, created_at=datetime(2025, 2, 2, tzinfo=UTC))
    make_record(user=charlie, created_at=datetime(2025, 3, 2, tzinfo=UTC))

    assert login(api_client, bob).get("/api/usage/export.csv").status_code == 403
    response = login(api_client, alice).get("/api/usage/export.csv?from=2025-03-01")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(cast("StreamingHttpResponse", response).streaming_content)  # type: ignore[arg-type]
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert len(rows) == 1
    assert rows[0]["user_email"] == "bob@acme.test"
    assert rows[0]["cost_usd"] == "0.000123400"
    assert rows[0]["cached_input_usd_per_mtok"] == ""
