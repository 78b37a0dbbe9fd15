"""A fake LLM provider server for tests and benchmarks (see server.py for the URL scheme)."""

from __future__ import annotations

from tests.fake_upstream.server import (
    FIXTURES_DIR,
    FakeUpstreamClient,
    FakeUpstreamServer,
    RequestRecord,
    Scenario,
)

__all__ = ["FIXTURES_DIR", "FakeUpstreamClient", "FakeUpstreamServer", "RequestRecord", "Scenario"]
