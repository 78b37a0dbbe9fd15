"""A fake LLM provider server for tests and benchmarks (see server.py for the URL scheme)."""

from __future__ import annotations

from tests.fake_upstream.server import (
    FIXTURES_DIR,
    LANGUAGES,
    FakeUpstreamClient,
    FakeUpstreamServer,
    RequestRecord,
    Scenario,
    language_tokens,
)

__all__ = [
    "FIXTURES_DIR",
    "LANGUAGES",
    "FakeUpstreamClient",
    "FakeUpstreamServer",
    "RequestRecord",
    "Scenario",
    "language_tokens",
]
