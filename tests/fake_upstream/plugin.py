"""pytest fixtures for the fake upstream (see tests/fake_upstream/server.py for the scheme).

`fake_upstream` is a function-scoped view over one session-scoped server that runs on its own
event loop in a background thread. Each test gets a fresh key, so its scenarios and request
records are its own even when the server is shared.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fake_upstream.server import FakeUpstreamServer, RequestRecord, Scenario


class FakeUpstream:
    def __init__(self, server: FakeUpstreamServer, key: str) -> None:
        self.server = server
        self.key = key

    @property
    def url(self) -> str:
        """The server root, http://127.0.0.1:PORT."""
        return self.server.url

    def base_url(self, provider: str) -> str:
        """The API root to put in a ProviderConfig / ProviderKey for `provider`."""
        return self.server.base_url(provider, key=self.key)

    def script(self, **fields: Any) -> Scenario:
        """Queue an answer, e.g. script(provider="openai", kind="fixture",
        fixture="openai_stream.sse", chunking="bytes1") or script(provider="anthropic",
        kind="generated", deltas=64, delay=0.02). Fields: see Scenario."""
        scenario = Scenario.from_dict(fields)
        self.server.state.script(self.key, scenario)
        return scenario

    @property
    def requests(self) -> list[RequestRecord]:
        return self.server.state.requests(self.key)

    @property
    def disconnects(self) -> list[RequestRecord]:
        """Requests whose client went away before the response was finished."""
        return [r for r in self.requests if r.disconnected]

    def reset(self) -> None:
        self.server.state.reset(self.key)

    def wait_for(self, predicate: Callable[[FakeUpstream], bool], timeout: float = 5.0) -> bool:
        """Poll until predicate(self) holds (the server notices disconnects asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.01)
        return predicate(self)

    async def wait_for_async(
        self, predicate: Callable[[FakeUpstream], bool], within: float = 5.0
    ) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            await asyncio.sleep(0.01)
        return predicate(self)


@pytest.fixture(scope="session")
def fake_upstream_server() -> Iterator[FakeUpstreamServer]:
    server = FakeUpstreamServer()
    server.start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def fake_upstream(fake_upstream_server: FakeUpstreamServer) -> Iterator[FakeUpstream]:
    fake = FakeUpstream(fake_upstream_server, key=uuid.uuid4().hex[:12])
    yield fake
    fake.reset()
