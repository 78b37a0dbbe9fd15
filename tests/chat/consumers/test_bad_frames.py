"""Bad frames on the chat WebSocket (CONTRACT "WebSocket chat"): every refused frame gets exactly
one `error` frame, the socket stays open, and nothing is stored.

Over one socket per user (Alice, owner of Acme; Bob, member of Acme; Charlie, owner of Globex),
through the real `server.asgi.application` and a real session, each case sends one bad frame:
text that is not JSON, JSON that is not an object, a missing or unknown `type`, and for every field
of every frame type (found from the frame serializers, so a new field must be added here) wrong
values of every kind, other users' and other organisations' ids, ids that name nothing, missing
fields; plus binary frames. The reply must be one `error` frame in the
contract's shape with the expected `code`, echoing the frame's `client_id` when it was a string.
After a user's batch: no further frame arrived, the chat and billing tables are as they were, no
request reached the fake upstream, and a valid `message.send` still streams to
`message.completed` on the same socket, with undeclared fields (some naming other users' rows)
beside its own: those are ignored.

Like tests/gateway/test_bad_input.py, the test walks every case and reports every failure at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.core.cache import cache
from django.db import connections
from rest_framework import serializers

from accounts.models import User
from chat.models import Conversation, Message, MessageRole, MessageStatus
from chat.serializers import (
    ConversationSubscribeFrame,
    GenerationStopFrame,
    MessageRegenerateFrame,
    MessageSendFrame,
)
from server.asgi import application
from tests.chat.support import drain, make_conversation, make_message, make_model, session_headers
from tests.fake_upstream.plugin import FakeUpstream

ERROR_KEYS = frozenset({"type", "code", "message", "detail", "client_id"})
VALIDATION, NOT_FOUND = "validation_error", "not_found"

# --- the wrong values ---------------------------------------------------------------------------

LONG = "x" * 100_001
# One wrong value of each kind, for every field of every frame (the kinds a field accepts are
# listed in FIELDS and skipped).
WRONG_VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "list": [1],
    "empty_list": [],
    "object": {"a": 1},
    "empty_object": {},
    "huge_int": 10**30,
    "past_int64": 2**63,
    "vast_int": 10**400,
    "negative": -1,
    "zero": 0,
    "float": 1.5,
    "int_as_float": 1.0,
    "int_as_string": "1",
    "float_as_string": "0.5",
    "empty": "",
    "blank": "   ",
    "long": LONG,
    "nul": "a\x00b",
    "lone_surrogate": "a\ud800b",
    "list_of_wrongs": [None, 10**30, "\x00", {"a": 1}],
}
# Values only raw JSON text can carry (Python's json reads them; json.dumps cannot write them).
# The last two make the whole frame unreadable, so its client_id cannot be echoed.
RAW_WRONG_VALUES: dict[str, str] = {
    "nan": "NaN",
    "infinity": "Infinity",
    "minus_infinity": "-Infinity",
    "exponent_overflow": "1e999",
    "digits_5000": "1" * 5000,
    "deeply_nested": "[" * 50_000 + "]" * 50_000,
}

# Whole text frames that are not a JSON object.
RAW_TEXT_FRAMES: dict[str, str] = {
    "empty": "",
    "blank": "  \n ",
    "not_json": "this is not json",
    "truncated": '{"type": "message.send", ',
    "trailing_comma": '{"type": "generation.stop", "message_id": 1,}',
    "single_quotes": "{'type': 'generation.stop'}",
    "json_array": "[1, 2]",
    "json_empty_array": "[]",
    "json_array_of_frame": '[{"type": "conversation.subscribe", "conversation_id": 1}]',
    "json_string": '"message.send"',
    "json_number": "42",
    "json_float": "1.5",
    "json_null": "null",
    "json_true": "true",
    "json_nan": "NaN",
    "json_digits_5000": "1" * 5000,
    "deeply_nested_array": "[" * 100_000 + "]" * 100_000,
    "deeply_nested_object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "nul_only": "\x00",
    "lone_surrogate_text": "\ud800",
    "big_garbage": "x" * 1_000_000,
}
BINARY_FRAMES: dict[str, bytes] = {
    "empty": b"",
    "json_frame_as_bytes": b'{"type": "conversation.subscribe", "conversation_id": 1}',
    "invalid_utf8": b"\xff\xfe\xfd",
    "nul": b"\x00",
    "big": b"\x00" * 200_000,
}
# Fields no frame has: sent beside the valid frame at the end, which must still work.
UNKNOWN_FIELDS: dict[str, Any] = {
    "unknown": 1,
    "__proto__": {"admin": True},
    "is_superuser": True,
    "role": "assistant",
    "status": "complete",
    "": "empty key",
    "content\x00": "nul in a key",
}
TYPES: dict[str, Any] = {
    **WRONG_VALUES,
    "unknown": "message.sendx",
    "upper_case": "MESSAGE.SEND",
    "padded": " message.send",
    "server_frame": "message.created",
    "error_frame": "error",
    "underscored": "message_send",
}


@dataclass(frozen=True)
class Field:
    """A frame field: the wrong-value kinds it accepts (skipped), and whether it is required."""

    accepts: frozenset[str] = frozenset()
    required: bool = True


def accepts(*kinds: str) -> frozenset[str]:
    assert set(kinds) <= set(WRONG_VALUES) | set(RAW_WRONG_VALUES), kinds
    return frozenset(kinds)


CLIENT_ID = Field(accepts("empty", "blank", "int_as_string", "float_as_string"), required=False)
MAX_TOKENS = Field(required=False)
TEMPERATURE = Field(accepts("zero", "float", "int_as_float"), required=False)

# Every field of every client frame (checked against the serializers below).
FRAMES: dict[str, tuple[type[serializers.Serializer[Any]], dict[str, Field]]] = {
    "message.send": (
        MessageSendFrame,
        {
            "conversation_id": Field(accepts("null")),
            "parent_id": Field(accepts("null"), required=False),
            "model": Field(),
            "content": Field(accepts("int_as_string", "float_as_string")),
            "max_tokens": MAX_TOKENS,
            "temperature": TEMPERATURE,
            "client_id": CLIENT_ID,
        },
    ),
    "message.regenerate": (
        MessageRegenerateFrame,
        {
            "message_id": Field(),
            "model": Field(required=False),
            "max_tokens": MAX_TOKENS,
            "temperature": TEMPERATURE,
            "client_id": CLIENT_ID,
        },
    ),
    "generation.stop": (GenerationStopFrame, {"message_id": Field(), "client_id": CLIENT_ID}),
    "conversation.subscribe": (
        ConversationSubscribeFrame,
        {"conversation_id": Field(), "client_id": CLIENT_ID},
    ),
}


# --- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Own:
    """One user's chat: a conversation with a question and its answer, and a second one."""

    user: User
    model: str
    conversation: int
    question: int
    answer: int
    other_conversation: int
    other_question: int


def _own(user: User, model: str) -> Own:
    conversation = make_conversation(user=user, title="Plans", model=model)
    question = make_message(conversation=conversation, content="hello")
    answer = make_message(
        conversation=conversation,
        role=MessageRole.ASSISTANT,
        content="hi",
        parent=question,
        model=model,
        status=MessageStatus.COMPLETE,
    )
    other = make_conversation(user=user, title="Other", model=model)
    other_question = make_message(conversation=other, content="elsewhere")
    return Own(
        user=user,
        model=model,
        conversation=conversation.pk,
        question=question.pk,
        answer=answer.pk,
        other_conversation=other.pk,
        other_question=other_question.pk,
    )


def setup_chats(alice: User, bob: User, charlie: User, fake: FakeUpstream) -> dict[str, Own]:
    acme, globex = alice.membership.organization, charlie.membership.organization
    make_model(org=acme, base_url=fake.base_url("openai"), model_id="m")
    make_model(org=acme, base_url=fake.base_url("openai"), model_id="off", enabled=False)
    make_model(org=globex, base_url=fake.base_url("openai"), model_id="g")
    return {"alice": _own(alice, "m"), "bob": _own(bob, "m"), "charlie": _own(charlie, "g")}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the providers, chat and billing tables."""
    # The test database holds only this test's rows.
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for app in ("providers", "chat", "billing")
        for model in apps.get_app_config(app).get_models()
    }


# --- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    code: str  # the expected error code
    text: str | None = None
    data: bytes | None = None
    client_id: str | None = None  # the client_id the error must echo


UNREADABLE = frozenset({"digits_5000", "deeply_nested"})
# Out-of-range ids are well formed and name nothing: not_found, like an id past the last row.
HUGE = frozenset({"huge_int", "past_int64", "vast_int"})


def frame_case(name: str, frame: dict[str, Any], code: str, raw: str | None = None) -> Case:
    """A JSON frame; with `raw`, the value "__RAW__" in it becomes that raw JSON text."""
    text = json.dumps(frame)
    client_id = frame.get("client_id")
    if raw is not None:
        assert text.count('"__RAW__"') == 1
        text = text.replace('"__RAW__"', raw)
        if raw in {RAW_WRONG_VALUES[k] for k in UNREADABLE}:
            client_id = None
    if client_id == "__RAW__" or not isinstance(client_id, str):
        client_id = None
    return Case(name, code, text=text, client_id=client_id)


class Cases:
    """The cases for one user; `me` is theirs, `others` the other two users' chats."""

    def __init__(self, me: Own, others: list[Own]) -> None:
        self.me, self.others = me, others
        self.serial = 0
        self.missing_id = max(o.other_question for o in [me, *others]) + 1000

    def cid(self) -> str:
        self.serial += 1
        return f"{self.me.user.email.split('@')[0]}-{self.serial}"

    def valid(self, kind: str) -> dict[str, Any]:
        """A frame of `kind` that would be accepted (with every optional field given)."""
        me = self.me
        frames: dict[str, dict[str, Any]] = {
            "message.send": {
                "conversation_id": me.conversation,
                "parent_id": me.answer,
                "model": me.model,
                "content": "Hello there",
                "max_tokens": 100,
                "temperature": 0.5,
            },
            "message.regenerate": {
                "message_id": me.answer,
                "model": me.model,
                "max_tokens": 100,
                "temperature": 0.5,
            },
            "generation.stop": {"message_id": me.answer},
            "conversation.subscribe": {"conversation_id": me.conversation},
        }
        return {"type": kind, **frames[kind], "client_id": self.cid()}

    def ids(self, kind: str, name: str) -> Iterator[tuple[str, Any, str]]:
        """(label, value, expected code): ids that are well formed but not usable here."""
        me, others = self.me, self.others
        if name == "model":
            yield "other_org_model", "g" if me.model == "m" else "m", VALIDATION
            yield "disabled_model", "off", VALIDATION
            yield "unknown_model", "no-such-model", VALIDATION
            yield "model_case", me.model.upper(), VALIDATION
        if name == "conversation_id":
            for o in others:
                yield f"{o.user.email}_conversation", o.conversation, NOT_FOUND
            yield "nonexistent_conversation", self.missing_id, NOT_FOUND
        if name == "parent_id":
            for o in others:
                yield f"{o.user.email}_question", o.question, VALIDATION
                yield f"{o.user.email}_answer", o.answer, VALIDATION
            yield "own_message_of_other_conversation", me.other_question, VALIDATION
            yield "nonexistent_message", self.missing_id, VALIDATION
        if name == "message_id":
            for o in others:
                yield f"{o.user.email}_question", o.question, NOT_FOUND
                yield f"{o.user.email}_answer", o.answer, NOT_FOUND
            yield "nonexistent_message", self.missing_id, NOT_FOUND
            if kind == "message.regenerate":
                yield "own_question", me.question, VALIDATION

    def all(self) -> list[Case]:
        cases = [Case(f"text:{n}", VALIDATION, text=t) for n, t in RAW_TEXT_FRAMES.items()]
        cases += [Case(f"binary:{n}", VALIDATION, data=b) for n, b in BINARY_FRAMES.items()]
        cases.append(frame_case("no_type", {"client_id": self.cid()}, VALIDATION))
        cases.append(frame_case("empty_object", {}, VALIDATION))
        for label, value in TYPES.items():
            frame = {"type": value, "client_id": self.cid()}
            cases.append(frame_case(f"type={label}", frame, VALIDATION))
        for kind, (_, fields) in FRAMES.items():
            for name, spec in fields.items():
                cases += self.field_cases(kind, name, spec)
        return cases

    def field_cases(self, kind: str, name: str, spec: Field) -> Iterator[Case]:
        def with_value(value: Any) -> dict[str, Any]:
            frame = self.valid(kind)
            frame[name] = value
            return frame

        names_a_row = name in ("conversation_id", "message_id")
        for label, value in WRONG_VALUES.items():
            if label not in spec.accepts:
                code = NOT_FOUND if names_a_row and label in HUGE else VALIDATION
                yield frame_case(f"{kind} {name}={label}", with_value(value), code)
        for label, raw in RAW_WRONG_VALUES.items():
            if label not in spec.accepts:
                frame = with_value("__RAW__")
                yield frame_case(f"{kind} {name}={label}", frame, VALIDATION, raw=raw)
        for label, value, code in self.ids(kind, name):
            yield frame_case(f"{kind} {name}={label}", with_value(value), code)
        if spec.required:
            frame = self.valid(kind)
            del frame[name]
            yield frame_case(f"{kind} without {name}", frame, VALIDATION)


# --- the checks ---------------------------------------------------------------------------------


def problem(case: Case, reply: dict[str, Any]) -> str | None:
    """Why a reply is not the one contract `error` frame this case must get, or None."""
    if reply.get("type") != "error":
        return f"answered {reply.get('type')!r}, not an error: {json.dumps(reply)[:300]}"
    checks = [
        (set(reply) <= ERROR_KEYS, f"error frame with keys {sorted(set(reply) - ERROR_KEYS)}"),
        (
            reply.get("code") == case.code,
            f"code {reply.get('code')!r}, expected {case.code!r}: {reply.get('message')!r:.200}",
        ),
        (isinstance(reply.get("message"), str) and reply["message"], "no message"),
        (isinstance(reply.get("detail", {}), dict), f"detail {reply.get('detail')!r:.100}"),
        (
            reply.get("client_id") == case.client_id
            and ("client_id" in reply) == (case.client_id is not None),
            f"client_id {reply.get('client_id')!r:.60}, expected {case.client_id!r:.60}",
        ),
    ]
    return next((why for ok, why in checks if not ok), None)


async def connect(user: User) -> WebsocketCommunicator:
    headers = await database_sync_to_async(session_headers)(user)
    comm = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    return comm


async def replied(comm: WebsocketCommunicator, within: float = 1) -> bool:
    """Whether the application sent something (or ended) within `within` seconds. Unlike
    `receive_output(timeout=...)`, waiting in vain does not cancel the application."""
    deadline = asyncio.get_running_loop().time() + within
    while comm.output_queue.empty() and not comm.future.done():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


async def quiet(comm: WebsocketCommunicator, within: float = 0.3) -> list[dict[str, Any]]:
    """Every frame that arrives until the socket has been silent for `within` seconds."""
    frames: list[dict[str, Any]] = []
    while not await comm.receive_nothing(timeout=within):
        output = await comm.receive_output()
        frames.append(json.loads(output["text"]) if "text" in output else output)
    return frames


@dataclass
class Batch:
    """One user's socket and the failures of their cases."""

    who: str
    user: User
    comm: WebsocketCommunicator
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    async def check(self, case: Case, fake: FakeUpstream) -> None:
        self.sent += 1
        label = f"{self.who} [{case.name[:90]}]"
        requests = len(fake.requests)
        if case.data is not None:
            await self.comm.send_input({"type": "websocket.receive", "bytes": case.data})
        else:
            await self.comm.send_input({"type": "websocket.receive", "text": case.text})
        if not await replied(self.comm):
            self.failures.append(f"{label}: no reply")
            return
        try:
            output = await self.comm.receive_output()
        except Exception as exc:  # the consumer raised: the socket is gone
            self.failures.append(f"{label}: raised {type(exc).__name__}: {exc!s:.200}")
            self.comm = await connect(self.user)
            return
        if output["type"] != "websocket.send":
            self.failures.append(f"{label}: {output!r:.200}")
            self.comm = await connect(self.user)
            return
        why = problem(case, json.loads(output["text"]))
        if why is not None:
            self.failures.append(f"{label}: {why}")
            # A frame that was accepted: let what it started finish, so it spoils no later case.
            if extra := await quiet(self.comm):
                self.failures.append(f"{label}: then {[f.get('type') for f in extra]}")
            await drain()
        if len(fake.requests) != requests:
            self.failures.append(f"{label}: a provider request was made")


@pytest_asyncio.fixture
async def _close_worker_connection():
    """Close the ORM worker thread's connection, so the test database can be dropped."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def _fresh_rate_limits(settings):
    # Refused frames that reach a service count against the per-minute message limit.
    settings.CHAT_MESSAGES_PER_MINUTE = 100_000
    cache.clear()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("_close_worker_connection", "_fresh_rate_limits")
async def test_every_bad_frame_gets_one_error_and_the_socket_stays_usable(
    alice: User, bob: User, charlie: User, fake_upstream: FakeUpstream
) -> None:
    chats = await database_sync_to_async(setup_chats)(alice, bob, charlie, fake_upstream)
    failures: list[str] = []
    sent = 0
    for who, me in chats.items():
        cases = Cases(me, [o for w, o in chats.items() if w != who]).all()
        batch = Batch(who, me.user, await connect(me.user))
        before = await database_sync_to_async(snapshot)()
        requests = len(fake_upstream.requests)
        for case in cases:
            await batch.check(case, fake_upstream)
        if extra := await quiet(batch.comm):
            batch.failures.append(f"{who}: frames after the batch: {extra!r:.300}")
        after = await database_sync_to_async(snapshot)()
        changed = [table for table in before if before[table] != after[table]]
        if changed:
            batch.failures.append(f"{who}: the batch changed stored rows of {changed}")
        assert len(fake_upstream.requests) == requests or batch.failures
        # The same socket still chats.
        # Fields a frame does not declare are ignored (the contract lists no such error, and
        # clients that send more must keep working), even when they name someone else's rows.
        other = next(o for w, o in chats.items() if w != who)
        await batch.comm.send_json_to(
            {
                "type": "message.send",
                "conversation_id": me.conversation,
                "model": me.model,
                "content": "Still there?",
                "client_id": f"{who}-ok",
                **UNKNOWN_FIELDS,
                "message_id": other.answer,
                "user_id": other.user.pk,
            }
        )
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] not in ("message.completed", "error"):
            frames.append(await batch.comm.receive_json_from(timeout=10))
        assert frames[-1]["type"] == "message.completed", (who, frames)
        assert frames[-1]["message"]["conversation_id"] == me.conversation
        await drain()
        await batch.comm.disconnect()
        failures += batch.failures
        sent += batch.sent
    assert await database_sync_to_async(Message.objects.filter(content="Still there?").count)() == 3
    assert await database_sync_to_async(Conversation.objects.count)() == 6
    assert not failures, f"{len(failures)} of {sent} cases failed:\n" + "\n".join(failures)


def test_every_frame_field_has_cases() -> None:
    """FRAMES names every field of every frame serializer (else a new field goes untested)."""
    for kind, (serializer_class, fields) in FRAMES.items():
        declared = set(serializer_class().fields) - {"type"}
        assert declared == set(fields), kind
    alice_cases = Cases(
        Own(User(pk=1, email="a@x"), "m", 1, 2, 3, 4, 5),
        [Own(User(pk=9, email="b@y"), "g", 11, 12, 13, 14, 15)],
    ).all()
    assert len(alice_cases) >= 400
    assert len({c.name for c in alice_cases}) == len(alice_cases)
