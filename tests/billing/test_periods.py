"""Pure period math: calendar periods in the org's time zone, across DST changes. No database."""

# ruff: noqa: E501  (one table row per line reads better than wrapped rows)

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from billing.periods import TOTAL_END, TOTAL_START, PeriodKind, period_bounds, period_key


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "now", "zone", "start", "end", "key"),
    [
        ("daily", utc(2025, 3, 15, 12), "UTC", utc(2025, 3, 15), utc(2025, 3, 16), "daily:2025-03-15"),
        # 03:00 UTC is still the 14th in New York (UTC-4 after the March change).
        ("daily", utc(2025, 3, 15, 3), "America/New_York", utc(2025, 3, 14, 4), utc(2025, 3, 15, 4), "daily:2025-03-14"),
        # The spring-forward day in New York has 23 hours.
        ("daily", utc(2025, 3, 9, 12), "America/New_York", utc(2025, 3, 9, 5), utc(2025, 3, 10, 4), "daily:2025-03-09"),
        # The fall-back day in Berlin has 25 hours.
        ("daily", utc(2025, 10, 26, 12), "Europe/Berlin", utc(2025, 10, 25, 22), utc(2025, 10, 26, 23), "daily:2025-10-26"),
        # Santiago springs forward AT midnight: the day starts at the change (01:00 local).
        ("daily", utc(2024, 9, 8, 12), "America/Santiago", utc(2024, 9, 8, 4), utc(2024, 9, 9, 3), "daily:2024-09-08"),
        ("daily", utc(2025, 1, 1, 18, 29), "Asia/Kolkata", utc(2024, 12, 31, 18, 30), utc(2025, 1, 1, 18, 30), "daily:2025-01-01"),
        ("daily", utc(2025, 1, 1, 18, 30), "Asia/Kolkata", utc(2025, 1, 1, 18, 30), utc(2025, 1, 2, 18, 30), "daily:2025-01-02"),
        # Weeks start on Monday: 2025-03-15 is a Saturday.
        ("weekly", utc(2025, 3, 15, 12), "UTC", utc(2025, 3, 10), utc(2025, 3, 17), "weekly:2025-03-10"),
        ("weekly", utc(2025, 3, 17), "UTC", utc(2025, 3, 17), utc(2025, 3, 24), "weekly:2025-03-17"),
        # A week across Berlin's spring change is 167 hours.
        ("weekly", utc(2025, 3, 30, 12), "Europe/Berlin", utc(2025, 3, 23, 23), utc(2025, 3, 30, 22), "weekly:2025-03-24"),
        ("monthly", utc(2025, 3, 15, 12), "UTC", utc(2025, 3, 1), utc(2025, 4, 1), "monthly:2025-03"),
        ("monthly", utc(2025, 12, 31, 23, 59), "UTC", utc(2025, 12, 1), utc(2026, 1, 1), "monthly:2025-12"),
        # In Tokyo (UTC+9) 2025-03-31T16:00Z is already April.
        ("monthly", utc(2025, 3, 31, 16), "Asia/Tokyo", utc(2025, 3, 31, 15), utc(2025, 4, 30, 15), "monthly:2025-04"),
        # Berlin's March contains the spring change: +01:00 at the start, +02:00 at the end.
        ("monthly", utc(2025, 3, 15), "Europe/Berlin", utc(2025, 2, 28, 23), utc(2025, 3, 31, 22), "monthly:2025-03"),
        ("monthly", utc(2024, 2, 29, 12), "UTC", utc(2024, 2, 1), utc(2024, 3, 1), "monthly:2024-02"),
        ("total", utc(2025, 3, 15), "Europe/Berlin", TOTAL_START, TOTAL_END, "total"),
    ],
)  # fmt: skip
def test_it_finds_the_calendar_period(
    kind: PeriodKind, now: datetime, zone: str, start: datetime, end: datetime, key: str
) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    assert period_bounds(kind, now, tz) == (start, end)
    assert period_key(kind, now, tz) == key


@pytest.mark.parametrize(
    "zone",
    [
        "UTC",
        "America/New_York",
        "Europe/Berlin",
        "America/Santiago",
        "Australia/Lord_Howe",  # a 30-minute DST shift
        "Pacific/Chatham",  # +12:45 / +13:45
        "America/Havana",  # falls back from 01:00 to 00:00: midnight happens twice
    ],
)
@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_it_tiles_time_without_gaps_or_overlaps(kind: PeriodKind, zone: str) -> None:
    """Every instant of two years lies in exactly one period, and periods touch end to start."""
    tz = zoneinfo.ZoneInfo(zone)
    now = utc(2024, 1, 1)
    previous: tuple[datetime, datetime] | None = None
    while now < utc(2026, 1, 1):
        start, end = period_bounds(kind, now, tz)
        assert start <= now < end
        if previous is not None and previous != (start, end):
            assert previous[1] == start
        previous = (start, end)
        now += timedelta(minutes=30)


def test_it_refuses_naive_times_and_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_bounds("daily", datetime(2025, 1, 1), UTC)  # noqa: DTZ001
    with pytest.raises(ValueError, match="unknown"):
        period_key("yearly", utc(2025, 1, 1), UTC)  # type: ignore[arg-type]
