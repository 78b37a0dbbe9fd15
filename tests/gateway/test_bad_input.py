"""Bad input never answers 500 (CONTRACT "Errors"): every REST endpoint, found through the URL
resolver so a new one is covered without editing this file, gets malformed bodies, wrong field
types, unknown fields, bad query parameters and bad path ids from Alice (owner), Bob (member) and
Charlie (another org). Every answer is below 500, every 4xx has the contract's shape, and a
refused write leaves every stored row as it was. `/v1` gets the same in OpenAI's envelope.

A case may succeed (a lax field, a `null` that is allowed): only a 5xx, a misshapen error or a
refused request that changed stored rows is a failure. Each test walks its cases in a loop and
reports every failure at once, so a run names all defects of an endpoint, not just the first.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx2 as httpx
import pytest
from channels.db import database_sync_to_async
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.services import invitation_create
from billing.budgets import budget_set
from gateway.token_services import token_create, token_revoke
from tests.chat.support import make_conversation, make_message, make_model
from tests.conftest import login
from tests.factories import make_user
from tests.fake_upstream.plugin import FakeUpstream

# --- the endpoints ------------------------------------------------------------------------------

# Views that take no input: drf-spectacular's schema and its Swagger page (seconds per call).
NO_INPUT_VIEWS = frozenset(
    {"SpectacularAPIView", "SpectacularSwaggerView", "SpectacularSwaggerSplitView"}
)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Endpoint:
    route: str  # "/api/conversations/<id:conversation_id>/"
    view: type[APIView]
    method: str

    @property
    def params(self) -> list[tuple[str, str]]:
        """(converter, name) of each path parameter."""
        return re.findall(r"<(?:(\w+):)?(\w+)>", self.route)


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def rest_endpoints() -> list[Endpoint]:
    found: list[Endpoint] = []
    for route, callback in _walk(get_resolver().url_patterns, "/"):
        view = getattr(callback, "view_class", None)
        if not route.startswith("/api/") or view is None or view.__name__ in NO_INPUT_VIEWS:
            continue
        assert issubclass(view, APIView), f"{route} is not a DRF view: add it to this module"
        found += [Endpoint(route, view, m) for m in METHODS if hasattr(view, m)]
    return found


ENDPOINTS = rest_endpoints()


def input_serializers(endpoint: Endpoint) -> dict[str, list[type[serializers.Serializer[Any]]]]:
    """The serializers a view method feeds with `data=request.data` / `request.query_params`,
    read from its source, so the field list of a new endpoint is found without a table here."""
    func = getattr(endpoint.view, endpoint.method)
    module = sys.modules[func.__module__]
    found: dict[str, list[type[serializers.Serializer[Any]]]] = {"data": [], "query_params": []}
    for name, source in re.findall(
        r"(\w+)\(data=request\.(data|query_params)\)", inspect.getsource(func)
    ):
        cls = getattr(endpoint.view, name, None) or getattr(module, name)
        assert issubclass(cls, serializers.Serializer)
        found[source].append(cls)
    return found


# --- the cases ----------------------------------------------------------------------------------

LONG = "x" * 100_001
# One wrong value of each kind, for every field an endpoint accepts.
WRONG_VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "list": ["a", 1],
    "object": {"a": 1},
    "huge_int": 10**30,
    "negative_int": -1,
    "zero": 0,
    "float": 0.1,
    "huge_float": 1e308,
    "empty": "",
    "long": LONG,
    "nul": "a\x00b",
    "lone_surrogate": "a\ud800b",
    "money_exponent": "1e999",
    "money_nan": "NaN",
    "money_negative": "-1",
    "money_precision": "0.0000000000001",
    "date_garbage": "2024-02-30T25:61:00",
    "date_min": "0001-01-01T00:00:00+01:00",
    "date_max": "9999-12-31T23:59:59-01:00",
    "list_of_wrongs": [None, 10**30, "\x00", {"a": 1}],
}

# Whole bodies that are not a JSON object: (content type, raw bytes).
RAW_BODIES: dict[str, tuple[str, bytes]] = {
    "not_json": ("application/json", b"{not json"),
    "empty_json": ("application/json", b""),
    "invalid_utf8": ("application/json", b'{"name": "\xff\xfe"}'),
    "json_array": ("application/json", b'[{"name": "a"}]'),
    "json_string": ("application/json", b'"hello"'),
    "json_number": ("application/json", b"42"),
    "json_null": ("application/json", b"null"),
    "json_true": ("application/json", b"true"),
    "json_nan": ("application/json", b'{"name": NaN, "limit_usd": Infinity}'),
    "deeply_nested": ("application/json", b"[" * 100_000 + b"]" * 100_000),
    "form_encoded": ("application/x-www-form-urlencoded", b"name=a&role=owner"),
    "multipart": ("multipart/form-data; boundary=xx", b"--xx--"),
    "xml": ("application/xml", b"<a/>"),
    "no_content_type": ("", b'{"name": "a"}'),
}

# Bad query parameters, each sent alone: pagination, filters, search, dates, formats.
BAD_QUERIES: list[dict[str, str]] = [
    {"page": "abc"},
    {"page": "0"},
    {"page": "-1"},
    {"page": "99999999999999999999999999"},
    {"page_size": "abc"},
    {"page_size": "0"},
    {"page_size": "-5"},
    {"page_size": "99999999999999999999999999"},
    {"q": LONG},
    {"q": "a\x00b"},
    {"q": "%_\\'\"; DROP TABLE x;--"},
    {"archived": "maybe"},
    {"from": "not-a-date"},
    {"from": "2024-02-30"},
    {"from": "0001-01-01"},
    {"to": "9999-12-31"},
    {"from": "9999-12-31T23:59:59.999999"},
    {"to": "9999-12-31T23:59:59.999999+00:00"},
    {"to": "0001-01-01T00:00:00+14:00"},
    {"from": "2024-05-01", "to": "2024-04-01"},
    {"from": "a\x00b"},
    {"user": "abc"},
    {"user": "-1"},
    {"user": "99999999999999999999999999"},
    {"group_by": "password"},
    {"format": "exe"},
    {"format": "api"},
    {"limit": "abc"},
    {"limit": "99999999999999999999999999"},
    {"all": "\x00"},
    {"token": LONG},
    {"token": "a\x00b"},
]


@dataclass(frozen=True)
class Case:
    name: str
    body: tuple[str, bytes] | None = None  # (content type, raw bytes); None: no body
    query: dict[str, str] = field(default_factory=dict)


def _json(value: Any) -> tuple[str, bytes]:
    return "application/json", json.dumps(value).encode()


def body_cases(fields: dict[str, serializers.Field]) -> list[Case]:
    cases = [Case(f"body:{name}", body) for name, body in RAW_BODIES.items()]
    cases.append(Case("body:unknown_field", _json({"no_such_field": 1, "is_superuser": True})))
    for name in fields:
        cases += [Case(f"{name}={kind}", _json({name: v})) for kind, v in WRONG_VALUES.items()]
        cases.append(Case(f"{name}=with_unknown", _json({name: "x", "__class__": "y"})))
    return cases


def query_cases(fields: dict[str, serializers.Field]) -> list[Case]:
    queries = [dict(q) for q in BAD_QUERIES]
    for name in fields:
        queries += [{name: v} for v in ("", LONG, "a\x00b", "-1", "99999999999999999999")]
    return [Case(f"query:{q}"[:80], query=q) for q in queries]


# --- the data -----------------------------------------------------------------------------------


@dataclass
class Org:
    """Alice's org with one of everything a path can name, and how to read all stored rows."""

    ids: dict[str, str]

    @staticmethod
    def snapshot() -> dict[str, list[dict[str, Any]]]:
        """Every row of Potluck's own tables (the test database holds only this test's)."""
        return {
            model._meta.label: list(model._default_manager.order_by("pk").values())
            for app in ("accounts", "providers", "billing", "chat", "gateway")
            for model in apps.get_app_config(app).get_models()
        }


@pytest.fixture
def org(alice: User, bob: User, charlie: User, fake_upstream: FakeUpstream) -> Org:
    acme = alice.membership.organization
    # On the fake upstream, so `provider-keys/{id}/test/` answers at once.
    model = make_model(org=acme, base_url=fake_upstream.base_url("openai"))
    make_model(org=charlie.membership.organization, provider="anthropic")
    conversation = make_conversation(user=alice, title="Plans", model=model.model_id)
    make_message(conversation=conversation, content="hello")
    invitation, _ = invitation_create(
        actor_membership=alice.membership, email="dave@acme.test", role=Role.MEMBER
    )
    token = token_create(user=alice, name="ci").token
    budget_set(
        organization=acme,
        actor=alice,
        scope="user",
        user_id=bob.pk,
        limit_usd=Decimal("5"),
        period="monthly",
        enforcement="hard",
        warn_at_percent=[80],
    )
    return Org(
        ids={
            "conversation_id": str(conversation.pk),
            "user_id": str(bob.pk),
            "provider_key_id": str(model.provider_key_id),
            "invitation_id": str(invitation.pk),
            "token_id": str(token.pk),
            "model_id": model.model_id,
        }
    )


# Path values that are not Alice's objects; the int converter refuses some before the view runs.
BAD_INT_IDS = ("0", "999999", "-1", "99999999999999999999999999", "abc", "1.5", "%00")
BAD_PATH_IDS = ("no-such-model", "a/b/../c", "%00", "%ED%A0%80", "x" * 5000, "%2F")


def paths(endpoint: Endpoint, org: Org) -> tuple[str, list[str]]:
    """The route with Alice's real ids, and variants with one bad id each."""
    real = endpoint.route
    for _, name in endpoint.params:
        assert name in org.ids, f"{endpoint.route}: give the `org` fixture a real {name}"
        real = re.sub(rf"<(\w+:)?{name}>", org.ids[name], real)
    variants: list[str] = []
    for converter, name in endpoint.params:
        bad = BAD_PATH_IDS if converter == "path" else BAD_INT_IDS
        variants += [real.replace(f"/{org.ids[name]}/", f"/{b}/", 1) for b in bad]
    return real, variants


# --- the checks ---------------------------------------------------------------------------------


def send(client: APIClient, method: str, path: str, case: Case) -> Any:
    content_type, raw = case.body or ("application/json", b"")
    extra: dict[str, Any] = {"QUERY_STRING": "&".join(_pairs(case.query))} if case.query else {}
    # The test client sends bytes as they are (its stubs say str).
    return client.generic(method.upper(), path, raw, content_type, **extra)  # type: ignore[arg-type]


def _pairs(query: dict[str, str]) -> Iterator[str]:
    from urllib.parse import quote

    for key, value in query.items():
        yield f"{quote(key)}={quote(value, safe='')}"


def problem(response: Any) -> str | None:
    """Why an answer breaks the contract, or None when it keeps it."""
    status = response.status_code
    if response.streaming:
        b"".join(response.streaming_content)  # a failure while streaming is a 500 too
    if status >= 500:
        return f"{status}: {response.content[:300]!r}"
    if status < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{status} is not JSON: {response.content[:200]!r}"
    if not (
        isinstance(body, dict)
        and isinstance(body.get("code"), str)
        and isinstance(body.get("message"), str)
        and isinstance(body.get("detail"), dict)
    ):
        return f"{status} is not {{code, message, detail}}: {body!r:.300}"
    return None


@dataclass
class Run:
    """Sends the cases as each user and collects every failure."""

    clients: dict[str, APIClient]
    users: dict[str, User]
    mutating: bool
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    stored: dict[str, list[dict[str, Any]]] | None = None  # the rows as the last case left them

    def __post_init__(self) -> None:
        self.stored = Org.snapshot() if self.mutating else None

    def check(self, who: str, method: str, path: str, case: Case) -> None:
        try:
            response = send(self.clients[who], method, path, case)
            why = problem(response)
        except Exception as exc:  # the test client re-raises the view's exception
            why, response = f"raised {type(exc).__name__}: {exc!s:.300}", None
        self.sent += 1
        label = f"{who} {method.upper()} {path[:90]} [{case.name}]"
        if why is not None:
            self.failures.append(f"{label}: {why}")
        elif response is not None and response.status_code < 400:
            # Accepted (a lax field, or a method that takes no body): it may change things, and
            # may have logged its caller out, so log in again for the next case.
            login(self.clients[who], self.users[who])
            self.stored = Org.snapshot() if self.mutating else None
        elif self.stored is not None and Org.snapshot() != self.stored:
            self.failures.append(f"{label}: refused with {response.status_code}, yet rows changed")
            self.stored = Org.snapshot()


@pytest.fixture
def run(org: Org, alice: User, bob: User, charlie: User) -> Callable[[bool], Run]:
    users = {"alice": alice, "bob": bob, "charlie": charlie}

    def make(mutating: bool) -> Run:
        clients = {who: login(APIClient(enforce_csrf_checks=True), u) for who, u in users.items()}
        return Run(clients=clients, users=users, mutating=mutating)

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", ENDPOINTS, ids=[f"{e.method.upper()} {e.route}" for e in ENDPOINTS]
)
def test_it_answers_bad_input_with_a_contract_error(
    endpoint: Endpoint, org: Org, run: Callable[[bool], Run]
) -> None:
    serializer_classes = input_serializers(endpoint)
    body_fields = {n: f for s in serializer_classes["data"] for n, f in s().fields.items()}
    query_fields = {n: f for s in serializer_classes["query_params"] for n, f in s().fields.items()}
    real, bad_paths = paths(endpoint, org)
    mutating = endpoint.method != "get"
    r = run(mutating)
    cases = query_cases(query_fields) if not mutating else body_cases(body_fields)
    # A DELETE of Alice's real object with any body is a valid delete: only others try it.
    deletes_real = endpoint.method == "delete"
    # Alice last: her accepted writes (Bob deactivated, say) must not spoil the others' cases.
    for who in ("charlie", "bob", "alice"):
        for case in cases:
            if not (deletes_real and who == "alice"):
                r.check(who, endpoint.method, real, case)
        for path in bad_paths:
            r.check(who, endpoint.method, path, cases[0])
            r.check(who, endpoint.method, path, Case("empty_object", _json({})))
    # A method the route does not serve is a 405 in the contract's shape.
    other = next(m for m in METHODS if not hasattr(endpoint.view, m))
    r.check("alice", other, real, Case("wrong_method", _json({})))
    assert not r.failures, f"{len(r.failures)} of {r.sent} cases failed:\n" + "\n".join(r.failures)


@pytest.mark.django_db
def test_it_finds_every_rest_endpoint() -> None:
    """The walk above sees the app's endpoints (a broken walk would pass vacuously)."""
    routes = {e.route for e in ENDPOINTS}
    assert len(ENDPOINTS) >= 40
    assert "/api/conversations/<id:conversation_id>/" in routes
    assert "/api/budgets/users/<id:user_id>/" in routes
    assert "/api/models/<path:model_id>/" in routes


# --- /v1 ----------------------------------------------------------------------------------------


def _v1_setup(alice: User, bob: User, charlie: User, fake: FakeUpstream) -> dict[str, str]:
    acme = alice.membership.organization
    make_model(org=acme, base_url=fake.base_url("openai"))
    make_model(org=charlie.membership.organization, provider="anthropic")
    revoked = token_create(user=alice, name="old")
    token_revoke(actor=alice, token=revoked.token)
    expired = token_create(user=bob, name="soon", expires_at=timezone.now() + timedelta(hours=1))
    type(expired.token).objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    gone = make_user(org=acme, email="gone@acme.test")
    deactivated = token_create(user=gone, name="gone")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    return {
        "alice": token_create(user=alice, name="a").secret,
        "bob": token_create(user=bob, name="b", models=["gpt-4o-mini"]).secret,
        "charlie": token_create(user=charlie, name="c").secret,
        "revoked": revoked.secret,
        "expired": expired.secret,
        "deactivated": deactivated.secret,
    }


HI = [{"role": "user", "content": "hi"}]
# 10**30 and 1_000_001: past the WebSocket's bound (issue 13: 10**30 answered 500).
V1_WRONG_MAX_TOKENS: tuple[Any, ...] = (0, -1, 1.5, "5", True, [], {}, 1e308, 10**30, 1_000_001)
V1_WRONG_TEMPERATURES: tuple[Any, ...] = (-1, 3, "1", True, [], {}, 10**30)
V1_WRONG_STOPS: tuple[Any, ...] = (5, [1], ["a"] * 5, [""], [None], {"a": 1}, True)
V1_BAD_BODIES: list[Any] = [
    [],
    "hello",
    42,
    None,
    True,
    {},
    {"model": None, "messages": HI},
    {"model": 5, "messages": HI},
    {"model": ["gpt-4o-mini"], "messages": HI},
    {"model": "", "messages": HI},
    {"model": "x" * 100_000, "messages": HI},
    {"model": "a\x00b", "messages": HI},
    {"model": "a\ud800b", "messages": HI},
    {"model": "no-such-model", "messages": HI, "unknown_field": {"a": 1}},
    {"model": "gpt-4o-mini"},
    {"model": "gpt-4o-mini", "messages": None},
    {"model": "gpt-4o-mini", "messages": "hi"},
    {"model": "gpt-4o-mini", "messages": {}},
    {"model": "gpt-4o-mini", "messages": []},
    {"model": "gpt-4o-mini", "messages": [None]},
    {"model": "gpt-4o-mini", "messages": [1, 2]},
    {"model": "gpt-4o-mini", "messages": [[]]},
    {"model": "gpt-4o-mini", "messages": [{}]},
    {"model": "gpt-4o-mini", "messages": [{"role": None, "content": "hi"}]},
    {"model": "gpt-4o-mini", "messages": [{"role": ["user"], "content": "hi"}]},
    {"model": "gpt-4o-mini", "messages": [{"role": {"a": 1}, "content": "hi"}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "tool", "content": "hi"}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "only system"}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": 5}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": {"a": 1}}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [None]}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
    *(
        {"model": "gpt-4o-mini", "messages": HI, name: value}
        for name in ("max_tokens", "max_completion_tokens")
        for value in V1_WRONG_MAX_TOKENS
    ),
    *({"model": "gpt-4o-mini", "messages": HI, "temperature": v} for v in V1_WRONG_TEMPERATURES),
    *({"model": "gpt-4o-mini", "messages": HI, "stop": v} for v in V1_WRONG_STOPS),
    {"model": "gpt-4o-mini", "messages": HI, "n": 2},
    {"model": "gpt-4o-mini", "messages": HI, "n": "1"},
    {"model": "gpt-4o-mini", "messages": HI, "stream": "yes"},
    {"model": "gpt-4o-mini", "messages": HI, "stream": 1},
    {"model": "gpt-4o-mini", "messages": HI, "stream": True, "stream_options": [1]},
    {"model": "gpt-4o-mini", "messages": HI, "stream_options": "x"},
    {"model": "gpt-4o-mini", "messages": HI, "user": 5},
]
V1_RAW_BODIES: list[bytes] = [
    b"",
    b"{not json",
    b'{"model": "\xff\xfe"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"model": "gpt-4o-mini", "messages": NaN}',
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], '
    b'"temperature": NaN}',
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], '
    b'"max_tokens": 1e999}',
    b" " * (9 * 1024 * 1024),
]
V1_BAD_HEADERS: list[dict[bytes, bytes]] = [
    {},
    {b"authorization": b""},
    {b"authorization": b"Bearer"},
    {b"authorization": b"Bearer "},
    {b"authorization": b"Basic YWxpY2U6cHc="},
    {b"authorization": b"Bearer pl-not-a-token"},
    {b"authorization": b"Bearer " + b"x" * 10_000},
    {b"authorization": "Bearer pl-\u00e9\u00ff".encode("latin-1")},  # not ASCII
    {b"authorization": b"bearer  pl-  spaced"},
]


def v1_problem(response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code}: {response.content[:300]!r}"
    if response.status_code < 400:
        return None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code} is not OpenAI's envelope: {response.content[:200]!r}"
    if not (
        isinstance(error, dict)
        and set(error) == {"message", "type", "code", "param"}
        and isinstance(error["message"], str)
        and error["type"] == error["code"]
        and isinstance(error["code"], str)
    ):
        return f"{response.status_code} is not OpenAI's envelope: {error!r:.300}"
    return None


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_it_answers_bad_v1_requests_in_openai_envelope(
    v1_client: httpx.AsyncClient, alice: User, bob: User, charlie: User, fake_upstream: FakeUpstream
) -> None:
    secrets = await database_sync_to_async(_v1_setup)(alice, bob, charlie, fake_upstream)
    before = await database_sync_to_async(Org.snapshot)()
    failures: list[str] = []
    sent = 0

    async def check(label: str, request: Awaitable[httpx.Response]) -> None:
        nonlocal sent
        sent += 1
        why = v1_problem(await request)
        if why is not None:
            failures.append(f"{label}: {why}")

    for headers in V1_BAD_HEADERS:
        for h in (headers, {**headers, b"content-type": b"application/json"}):
            await check(f"models {headers!r}", v1_client.get("/v1/models", headers=h))
            await check(
                f"completions {headers!r}",
                v1_client.post("/v1/chat/completions", headers=h, json={}),
            )
    for who, secret in secrets.items():
        auth = {"Authorization": f"Bearer {secret}"}
        json_auth = {**auth, "Content-Type": "application/json"}
        await check(f"{who} models", v1_client.get("/v1/models", headers=auth))
        await check(f"{who} models?q", v1_client.get("/v1/models?limit=x&after=%00", headers=auth))
        await check(f"{who} POST models", v1_client.post("/v1/models", headers=auth))
        for model_path in ("no-such", "%00", "%ED%A0%80", "a/b", "x" * 5000):
            await check(f"{who} model {model_path[:20]}", v1_client.get(f"/v1/models/{model_path}"))
            await check(
                f"{who} model {model_path[:20]}",
                v1_client.get(f"/v1/models/{model_path}", headers=auth),
            )
        await check(f"{who} GET completions", v1_client.get("/v1/chat/completions", headers=auth))
        await check(f"{who} unknown path", v1_client.get("/v1/embeddings", headers=auth))
        for body in V1_BAD_BODIES:
            await check(
                f"{who} completions {json.dumps(body)[:80]}",
                v1_client.post(
                    "/v1/chat/completions", headers=json_auth, content=json.dumps(body).encode()
                ),
            )
        for raw in V1_RAW_BODIES:
            await check(
                f"{who} completions raw {raw[:40]!r}",
                v1_client.post("/v1/chat/completions", headers=json_auth, content=raw),
            )
    # Refused requests store nothing: no message, no ledger row, no changed token.
    after = await database_sync_to_async(Org.snapshot)()
    for rows in (before, after):
        for row in rows["gateway.ApiToken"]:
            row.pop("last_used_at")  # authenticating a valid token stamps it: not a change
    assert after == before
    assert not failures, f"{len(failures)} of {sent} cases failed:\n" + "\n".join(failures)
