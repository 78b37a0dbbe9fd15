"""Provider adapter tests: pure asyncio against the fake upstream, no database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from providers.wire import base
from providers.wire.base import close_session


@pytest.fixture(autouse=True)
def _fast_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keep the retry policy's shape but make its waits short, so tests stay fast.
    monkeypatch.setattr(base, "RETRY_BACKOFF", 0.01)
    monkeypatch.setattr(base, "RETRY_AFTER_CAP", 1.0)
    monkeypatch.setattr(base, "IDLE_TIMEOUT", 5.0)
    monkeypatch.setattr(base, "FIRST_BYTE_TIMEOUT", 5.0)


@pytest_asyncio.fixture(autouse=True)
async def _shared_session() -> AsyncIterator[None]:
    yield
    await close_session()
