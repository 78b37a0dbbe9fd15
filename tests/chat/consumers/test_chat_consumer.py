"""The chat WebSocket through the real ASGI application: origin check, session auth, routing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connections

from billing.models import UsageRecord
from chat.models import Conversation, Message
from server.asgi import application
from tests.chat.support import drain, make_conversation, make_model, session_headers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def _close_worker_connection():
    """The ORM runs in asgiref's worker thread; close its connection so the test database can
    be dropped at the end of the session (Postgres refuses while a session is open)."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def model(acme, fake_upstream):
    return make_model(org=acme, base_url=fake_upstream.base_url("openai"), model_id="m")


async def connect(user, *, origin: str = "http://testserver") -> WebsocketCommunicator:
    headers = await database_sync_to_async(session_headers)(user, origin=origin)
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def until(comm: WebsocketCommunicator, kind: str, within: float = 5) -> list[dict[str, Any]]:
    """Frames received up to and including the first of type `kind`."""
    frames: list[dict[str, Any]] = []
    while True:
        frame = await comm.receive_json_from(timeout=within)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


def created(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f["message"] for f in frames if f["type"] == "message.created"]


def send_frame(**extra: Any) -> dict[str, Any]:
    return {
        "type": "message.send",
        "conversation_id": None,
        "model": "m",
        "content": "Hello there",
        "client_id": "c1",
        **extra,
    }


async def test_it_streams_a_reply(alice, model, fake_upstream):
    fake_upstream.script(provider="openai", deltas=4, text="Hi, how are you")
    comm = await connect(alice)
    await comm.send_json_to(send_frame())
    frames = await until(comm, "message.completed")
    types = [f["type"] for f in frames]
    assert types[:3] == ["conversation.created", "message.created", "message.created"]
    assert frames[0]["client_id"] == "c1"
    user_msg, assistant = frames[1]["message"], frames[2]["message"]
    assert user_msg["role"] == "user"
    assert user_msg["content"] == "Hello there"
    assert assistant["status"] == "pending"
    assert assistant["parent_id"] == user_msg["id"]
    deltas = [f for f in frames if f["type"] == "message.delta"]
    assert [d["seq"] for d in deltas] == list(range(len(deltas)))
    assert "".join(d["text"] for d in deltas) == "Hi, how are you"
    done = frames[-1]["message"]
    assert done["status"] == "complete"
    assert done["content"] == "Hi, how are you"
    assert done["usage"]["input_tokens"] == 12
    assert done["cost_usd"] != "0"
    # The gate announces the spend after settlement (billing.budgets.budget_updated_notify).
    budget = [f for f in frames if f["type"] == "budget.updated"]
    if not budget:
        budget = await until(comm, "budget.updated")
    assert budget[-1]["spent_usd"].rstrip("0") == done["cost_usd"].rstrip("0")
    assert await database_sync_to_async(UsageRecord.objects.count)() == 1
    await drain()
    await comm.disconnect()


async def test_it_follows_regenerates_and_branches(alice, model, fake_upstream):
    comm = await connect(alice)
    await comm.send_json_to(send_frame(content="first"))
    first = await until(comm, "message.completed")
    conversation_id = first[0]["conversation"]["id"]
    first_user = first[1]["message"]
    first_answer = first[-1]["message"]
    # Without parent_id: follows the latest message.
    await comm.send_json_to(send_frame(conversation_id=conversation_id, content="second"))
    second = await until(comm, "message.completed")
    assert created(second)[0]["parent_id"] == first_answer["id"]
    # Regenerate: a sibling answer under the same user message.
    await comm.send_json_to({"type": "message.regenerate", "message_id": first_answer["id"]})
    regen = await until(comm, "message.completed")
    assert created(regen)[0]["parent_id"] == first_user["id"]
    assert created(regen)[0]["id"] != first_answer["id"]
    # Edit and resend: parent_id null makes a new first message (a sibling of "first").
    await comm.send_json_to(
        send_frame(conversation_id=conversation_id, parent_id=None, content="edited")
    )
    edited = await until(comm, "message.completed")
    assert created(edited)[0]["parent_id"] is None
    roots = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation_id=conversation_id, parent=None))
    )()
    assert sorted(m.content for m in roots) == ["edited", "first"]
    assert await database_sync_to_async(UsageRecord.objects.count)() == 4
    await drain()
    await comm.disconnect()


async def test_it_stops_a_generation(alice, model, fake_upstream):
    fake_upstream.script(provider="openai", deltas=300, delay=0.02)
    comm = await connect(alice)
    await comm.send_json_to(send_frame())
    frames = await until(comm, "message.delta")
    assistant_id = frames[2]["message"]["id"]
    await comm.send_json_to({"type": "generation.stop", "message_id": assistant_id})
    frames = await until(comm, "message.completed")
    done = frames[-1]["message"]
    assert done["status"] == "stopped"
    assert done["content"]
    message = await database_sync_to_async(Message.objects.get)(pk=assistant_id)
    assert message.status == "stopped"
    assert message.content == done["content"]
    assert (
        await database_sync_to_async(UsageRecord.objects.filter(message_id=assistant_id).count)()
        == 1
    )
    assert await fake_upstream.wait_for_async(lambda f: len(f.disconnects) == 1)
    await drain()
    await comm.disconnect()


async def test_it_finishes_after_the_socket_closes(alice, model, fake_upstream):
    fake_upstream.script(provider="openai", deltas=20, delay=0.02, text=" ".join(["x"] * 20))
    comm = await connect(alice)
    await comm.send_json_to(send_frame())
    frames = await until(comm, "message.delta")
    assistant_id = frames[2]["message"]["id"]
    await comm.disconnect()
    await drain()
    message = await database_sync_to_async(Message.objects.get)(pk=assistant_id)
    assert message.status == "complete"
    assert message.content == " ".join(["x"] * 20)
    assert (
        await database_sync_to_async(UsageRecord.objects.filter(message_id=assistant_id).count)()
        == 1
    )
    assert fake_upstream.disconnects == []


async def test_it_reaches_every_socket_of_the_user(alice, model, fake_upstream):
    conversation = await database_sync_to_async(make_conversation)(user=alice)
    fake_upstream.script(provider="openai", deltas=3, text="a b c", delay=0.02)
    first, second = await connect(alice), await connect(alice)
    await second.send_json_to(
        {"type": "conversation.subscribe", "conversation_id": conversation.id}
    )
    await first.send_json_to(send_frame(conversation_id=conversation.id))
    for comm in (first, second):
        frames = await until(comm, "message.completed")
        assert len(created(frames)) == 2
        assert "".join(f["text"] for f in frames if f["type"] == "message.delta") == "a b c"
    await drain()
    await first.disconnect()
    await second.disconnect()


async def test_it_refuses_bad_frames_and_stores_nothing(
    alice, bob, acme, charlie, globex, model, fake_upstream
):
    await database_sync_to_async(make_model)(org=globex, model_id="globex-model")
    bobs = await database_sync_to_async(make_conversation)(user=bob)
    acme.max_message_chars = 20
    await database_sync_to_async(acme.save)()
    comm = await connect(alice)
    await comm.send_to(text_data="this is not json")
    frame = await comm.receive_json_from()
    assert frame["type"] == "error"
    assert frame["code"] == "validation_error"
    await comm.send_to(text_data=json.dumps([1, 2]))
    assert (await comm.receive_json_from())["code"] == "validation_error"
    cases = [
        ({"type": "nope", "client_id": "x1"}, "validation_error"),
        ({"client_id": "x2"}, "validation_error"),
        (send_frame(client_id="x3", content=5), "validation_error"),
        (send_frame(client_id="x4", conversation_id="1"), "validation_error"),
        (send_frame(client_id="x5", content="x" * 21), "validation_error"),  # org limit
        (send_frame(client_id="x6", model="globex-model"), "validation_error"),
        (send_frame(client_id="x7", model="unknown"), "validation_error"),
        (send_frame(client_id="x8", conversation_id=bobs.id), "not_found"),
        (send_frame(client_id="x9", conversation_id=999999), "not_found"),
        (send_frame(client_id="x10", parent_id=12345), "validation_error"),
        ({"type": "message.regenerate", "message_id": "a", "client_id": "x11"}, "validation_error"),
        ({"type": "generation.stop", "message_id": 999999, "client_id": "x12"}, "not_found"),
        (
            {"type": "conversation.subscribe", "conversation_id": bobs.id, "client_id": "x13"},
            "not_found",
        ),
    ]
    for frame, code in cases:
        await comm.send_json_to(frame)
        reply = await comm.receive_json_from()
        assert reply["type"] == "error", frame
        assert reply["code"] == code, (frame, reply)
        assert reply["client_id"] == frame["client_id"]
        assert reply["message"]
    assert await database_sync_to_async(Message.objects.count)() == 0
    assert await database_sync_to_async(Conversation.objects.count)() == 1  # bob's only
    assert fake_upstream.requests == []
    # The socket is still open and works.
    await comm.send_json_to(send_frame(content="ok"))
    await until(comm, "message.completed")
    await drain()
    await comm.disconnect()


async def test_it_hides_other_orgs_conversations(alice, charlie, model):
    alices = await database_sync_to_async(make_conversation)(user=alice)
    comm = await connect(charlie)
    await comm.send_json_to({"type": "conversation.subscribe", "conversation_id": alices.id})
    assert (await comm.receive_json_from())["code"] == "not_found"
    await comm.send_json_to(send_frame(conversation_id=alices.id))
    assert (await comm.receive_json_from())["code"] == "not_found"
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_it_closes_anonymous_and_foreign_origin_sockets(alice):
    comm = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")],
    )
    connected, _ = await comm.connect()
    assert connected  # accepted, then closed with 4401 (CONTRACT)
    assert await comm.receive_output(timeout=1) == {"type": "websocket.close", "code": 4401}
    headers = await database_sync_to_async(session_headers)(alice, origin="http://evil.example")
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await comm.connect()
    assert not connected


async def test_it_rate_limits_messages(alice, model, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 1
    comm = await connect(alice)
    await comm.send_json_to(send_frame())
    await until(comm, "message.completed")
    await comm.send_json_to(send_frame(client_id="again"))
    reply = await until(comm, "error")
    assert reply[-1]["code"] == "rate_limited"
    assert reply[-1]["client_id"] == "again"
    await drain()
    await comm.disconnect()


async def test_it_limits_concurrent_generations(alice, model, fake_upstream, settings):
    settings.CHAT_MAX_CONCURRENT_GENERATIONS = 1
    fake_upstream.script(provider="openai", deltas=50, delay=0.02)
    comm = await connect(alice)
    await comm.send_json_to(send_frame())
    await until(comm, "message.delta")
    await comm.send_json_to(send_frame(client_id="second"))
    reply = await until(comm, "error")
    assert reply[-1]["code"] == "rate_limited"
    await drain()
    await comm.disconnect()


async def test_it_titles_a_new_conversation(alice, acme, model, fake_upstream):
    acme.title_model = "m"
    await database_sync_to_async(acme.save)()
    fake_upstream.script(provider="openai", deltas=2, text="Hello friend")
    fake_upstream.script(provider="openai", deltas=3, text="Friendly greetings exchanged")
    comm = await connect(alice)
    await comm.send_json_to(send_frame())
    frames = await until(comm, "conversation.updated")
    conversation = frames[-1]["conversation"]
    assert conversation["title"] == "Friendly greetings exchanged"
    await drain()
    records = await database_sync_to_async(lambda: list(UsageRecord.objects.order_by("id")))()
    assert [r.source for r in records] == ["chat", "system"]
    assert records[1].user_id == alice.id
    assert records[1].conversation_id == conversation["id"]
    await comm.disconnect()


async def test_it_keeps_the_message_when_the_budget_refuses(alice, acme, model, fake_upstream):
    from decimal import Decimal

    from billing.budgets import budget_set

    await database_sync_to_async(budget_set)(
        organization=acme,
        actor=alice,
        scope="user",
        user_id=alice.id,
        limit_usd=Decimal("0.000000001"),
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )
    comm = await connect(alice)
    await comm.send_json_to(send_frame(content="remember me"))
    frames = await until(comm, "message.failed")
    failed = frames[-1]["message"]
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "budget_exceeded"
    user_message = created(frames)[0]
    assert user_message["content"] == "remember me"
    stored = await database_sync_to_async(Message.objects.get)(pk=user_message["id"])
    assert stored.content == "remember me"
    assert fake_upstream.requests == []
    assert await database_sync_to_async(UsageRecord.objects.count)() == 0
    await drain()
    await comm.disconnect()


async def test_it_keeps_the_refusals_detail_with_the_failed_answer(
    alice, acme, model, fake_upstream
):
    from decimal import Decimal

    from billing.budgets import budget_set

    await database_sync_to_async(budget_set)(
        organization=acme,
        actor=alice,
        scope="user",
        user_id=alice.id,
        limit_usd=Decimal("0.000000001"),
        period="monthly",
        enforcement="hard",
        warn_at_percent=[],
    )
    comm = await connect(alice)
    await comm.send_json_to(send_frame(content="a long story"))
    frames = await until(comm, "message.failed")
    error = frames[-1]["message"]["error"]
    assert error["code"] == "budget_exceeded"
    # Which budget refused, its amounts and its reset, as the gate raised them (money as strings).
    detail = error["detail"]
    assert detail["scope"] == "user"
    assert detail["limit_usd"] == "0.000000001"
    assert detail["period"] == "monthly"
    assert detail["period_end"].endswith("Z")
    stored = await database_sync_to_async(Message.objects.get)(pk=frames[-1]["message"]["id"])
    assert stored.error_detail == detail
    await drain()
    await comm.disconnect()
