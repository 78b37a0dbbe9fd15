"""Time helpers shared by every app: the one UTC rendering and the one organisation time zone."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from django.conf import settings


def iso_utc(value: datetime) -> str:
    """An aware datetime as the contract's ISO 8601 UTC string: `2026-12-06T22:31:35.123456Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def zone(time_zone: str) -> zoneinfo.ZoneInfo:
    """An organisation's time zone; the instance default when the stored name is unknown."""
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.DEFAULT_ORG_TIME_ZONE)
