"""Budget warnings reach the member's socket as `budget.warning` frames in every mode: a live
Daphne (no Celery worker running at all) in embedded mode (the in-memory channel layer, as
`make run` without REDIS_URL) and with Redis. The process that settles a call sends them.

An acceptance run found e-mails but no frame under `make run`: the Celery worker sent the frames,
and its in-memory channel layer reaches no socket.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.live import fake_upstream_process, live_app, sign_in_with_model

EMAIL = "owner@acme.test"
PASSWORD = "a-long-enough-password-1"


async def _chat_until_warned(url: str, fake_url: str, sends: int) -> list[dict[str, Any]]:
    """Set a soft budget, send `sends` messages one after another; the warning frames seen."""
    ws_url = url.replace("http://", "ws://") + "/ws/chat/"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        headers = await sign_in_with_model(session, url, fake_url, email=EMAIL, password=PASSWORD)
        async with session.get(f"{url}/api/auth/me/") as response:
            me = await response.json()
        async with session.patch(
            f"{url}/api/org/", json={"title_model": None}, headers=headers
        ) as response:
            assert response.status == 200, await response.text()  # only the answers are charged
        warnings: list[dict[str, Any]] = []
        async with session.ws_connect(ws_url, origin=url) as ws:
            conversation = None
            for n in range(sends):
                await ws.send_json(
                    {
                        "type": "message.send",
                        "conversation_id": conversation,
                        "model": "m",
                        "content": f"question {n}",
                        "client_id": f"c{n}",
                    }
                )
                async with asyncio.timeout(30):
                    while True:
                        frame = json.loads((await ws.receive()).data)
                        if frame["type"] == "conversation.created":
                            conversation = frame["conversation"]["id"]
                        if frame["type"] == "budget.warning":
                            warnings.append(frame)
                        if frame["type"] in {"message.completed", "message.failed"}:
                            assert frame["type"] == "message.completed", frame
                            cost = Decimal(frame["message"]["cost_usd"])
                            break
                if n == 0:
                    # A soft budget of 3.5 answers (set mid-period: the first one counts): the
                    # 2nd answer crosses 50 %, the 3rd 80 %, the 4th the soft budget's 100 %.
                    budget = {
                        "limit_usd": str((cost * Decimal("3.5")).quantize(Decimal("1e-9"))),
                        "period": "monthly",
                        "enforcement": "soft",
                        "warn_at_percent": [50, 80],
                    }
                    async with session.put(
                        f"{url}/api/budgets/users/{me['id']}/", json=budget, headers=headers
                    ) as response:
                        assert response.status == 200, await response.text()
            # The last warning follows the last settlement: give it a moment to arrive.
            try:
                async with asyncio.timeout(3):
                    while len(warnings) < 3:
                        frame = json.loads((await ws.receive()).data)
                        if frame["type"] == "budget.warning":
                            warnings.append(frame)
            except TimeoutError:
                pass
        return warnings


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode", ["embedded", "redis"])
def test_it_sends_budget_warnings_to_the_socket_from_the_settling_process(
    mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = request.getfixturevalue("redis_url") if mode == "redis" else ""
    with (
        fake_upstream_process() as fake_url,
        live_app(tmp_path, extra_env={"REDIS_URL": redis_url}, with_celery=False) as app,
    ):
        app.manage(
            "create_org", "--name", "Acme", "--owner-email", EMAIL, "--owner-password", PASSWORD
        )
        warnings = asyncio.run(_chat_until_warned(app.url, fake_url, sends=4))
    assert [w["percent"] for w in warnings] == [50, 80, 100]
    assert len({w["limit_usd"] for w in warnings}) == 1
