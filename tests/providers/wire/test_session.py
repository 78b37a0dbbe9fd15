"""The shared HTTP session: one per event loop, cleaned up when its loop is gone."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings

from providers.wire import base
from providers.wire.dispatch import list_models
from tests.providers.wire.helpers import config


def test_it_uses_one_session_per_loop_and_drops_dead_loops_quietly(fake_upstream, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    cfg = config(fake_upstream, "openai")

    async def call_twice() -> tuple[object, object]:
        await list_models(cfg)
        first = base.get_session()
        await list_models(cfg)
        return first, base.get_session()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Each asyncio.run is a fresh loop, like asgiref's async_to_sync in a sync view.
        first, second = asyncio.run(call_twice())
        assert first is second  # pooled within a loop
        third, _ = asyncio.run(call_twice())
        assert third is not first
        assert first.closed  # type: ignore[attr-defined]  # the dead loop's session was dropped
        asyncio.run(base.close_session())
        gc.collect()

    unclosed = [str(w.message) for w in caught if "Unclosed" in str(w.message)]
    assert unclosed == []  # no "Unclosed client session" / "Unclosed connector"
    assert "Unclosed" not in caplog.text
    assert len(fake_upstream.requests) == 4
