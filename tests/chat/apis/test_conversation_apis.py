from __future__ import annotations

import json

import pytest

from billing.models import UsageRecord
from chat.models import Conversation, Message
from tests.chat.support import make_conversation, make_message, make_model
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_conversation(alice):
    return make_conversation(user=alice, title="Trip to Lisbon")


def test_it_creates_and_lists_conversations(api_client, alice, acme):
    make_model(org=acme, model_id="gpt")
    login(api_client, alice)
    r = api_client.post(
        "/api/conversations/",
        {"title": "Hello", "model": "gpt", "system_prompt": "Be brief."},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {
        "id",
        "title",
        "model",
        "system_prompt",
        "created_at",
        "updated_at",
        "archived",
    }
    assert body["title"] == "Hello"
    assert body["model"] == "gpt"
    assert body["archived"] is False
    second = api_client.post("/api/conversations/", {}, format="json").json()
    r = api_client.get("/api/conversations/")
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == [second["id"], body["id"]]  # newest first


def test_it_validates_create_input(api_client, alice, acme, charlie, globex):
    make_model(org=globex, model_id="globex-only")
    make_model(org=acme, model_id="off", enabled=False)
    login(api_client, alice)
    for bad in (
        {"title": "x" * 201},
        {"model": "globex-only"},  # another org's model
        {"model": "off"},  # disabled
        {"model": "nope"},
        {"unknown": 1},
    ):
        r = api_client.post("/api/conversations/", bad, format="json")
        assert r.status_code == 400, bad
        assert r.json()["code"] == "validation_error"
    assert Conversation.objects.count() == 0


def test_it_updates_and_archives(api_client, alice, alices_conversation):
    login(api_client, alice)
    url = f"/api/conversations/{alices_conversation.id}/"
    r = api_client.patch(url, {"title": "Renamed", "archived": True}, format="json")
    assert r.status_code == 200
    assert r.json()["title"] == "Renamed"
    assert r.json()["archived"] is True
    alices_conversation.refresh_from_db()
    assert alices_conversation.archived is True
    assert [c["id"] for c in api_client.get("/api/conversations/?archived=true").json()] == [
        alices_conversation.id
    ]
    assert api_client.get("/api/conversations/?archived=false").json() == []
    r = api_client.patch(url, {"archived": "maybe"}, format="json")
    assert r.status_code == 400


def test_it_deletes_but_keeps_usage(api_client, alice, acme, alices_conversation):
    message = make_message(conversation=alices_conversation)
    UsageRecord.objects.create(
        organization=acme,
        user=alice,
        model="gpt",
        upstream_model="gpt",
        provider="openai",
        conversation_id=alices_conversation.id,
        message_id=message.id,
        source="chat",
        call_id="call-1",
        input_usd_per_mtok=1,
        output_usd_per_mtok=1,
        cost_usd=1,
    )
    login(api_client, alice)
    r = api_client.delete(f"/api/conversations/{alices_conversation.id}/")
    assert r.status_code == 204
    assert not Conversation.objects.filter(id=alices_conversation.id).exists()
    assert not Message.objects.filter(id=message.id).exists()
    assert UsageRecord.objects.filter(conversation_id=alices_conversation.id).count() == 1


def test_it_hides_conversations_from_others(api_client, alice, bob, charlie, alices_conversation):
    make_message(conversation=alices_conversation)
    base = f"/api/conversations/{alices_conversation.id}/"
    for user in (bob, charlie):
        api_client.logout()
        login(api_client, user)
        assert api_client.get("/api/conversations/").json() == []
        assert api_client.get("/api/conversations/?q=Lisbon").json() == []
        for url in (base, base + "messages/", base + "export/?format=json"):
            r = api_client.get(url)
            assert r.status_code == 404, (user, url)
            assert r.json()["code"] == "not_found"
        assert api_client.patch(base, {"title": "x"}, format="json").status_code == 404
        assert api_client.delete(base).status_code == 404
    alices_conversation.refresh_from_db()
    assert alices_conversation.title == "Trip to Lisbon"
    api_client.logout()
    assert api_client.get("/api/conversations/").status_code == 401


def test_it_searches_titles_and_content(api_client, alice):
    by_title = make_conversation(user=alice, title="Lisbon trip")
    by_content = make_conversation(user=alice, title="Other")
    make_message(conversation=by_content, content="what to eat in LISBON?")
    make_message(conversation=by_content, content="lisbon again")
    make_conversation(user=alice, title="Unrelated")
    login(api_client, alice)
    found = api_client.get("/api/conversations/?q=lisbon").json()
    assert sorted(c["id"] for c in found) == sorted([by_title.id, by_content.id])


def test_it_lists_the_whole_tree(api_client, alice, alices_conversation, django_assert_num_queries):
    root = make_message(conversation=alices_conversation, content="hi")
    answer = make_message(
        conversation=alices_conversation,
        role="assistant",
        content="hello",
        parent=root,
        model="gpt",
        input_tokens=3,
        output_tokens=5,
        cached_input_tokens=0,
        reasoning_tokens=0,
        cost_usd="0.000013000",
    )
    failed = make_message(
        conversation=alices_conversation,
        role="assistant",
        content="",
        parent=root,
        status="failed",
        error_code="provider_error",
        error_message="boom",
    )
    login(api_client, alice)
    url = f"/api/conversations/{alices_conversation.id}/messages/"
    with django_assert_num_queries(5):  # session, user, membership, conversation, messages
        r = api_client.get(url)
    assert r.status_code == 200
    rows = {m["id"]: m for m in r.json()}
    assert set(rows) == {root.id, answer.id, failed.id}
    assert rows[answer.id] == {
        "id": answer.id,
        "conversation_id": alices_conversation.id,
        "parent_id": root.id,
        "role": "assistant",
        "content": "hello",
        "model": "gpt",
        "status": "complete",
        "error": None,
        "usage": {
            "input_tokens": 3,
            "output_tokens": 5,
            "cached_input_tokens": 0,
            "reasoning_tokens": 0,
        },
        "cost_usd": "0.000013000",
        "created_at": rows[answer.id]["created_at"],
    }
    assert rows[root.id]["usage"] is None
    assert rows[failed.id]["error"] == {"code": "provider_error", "message": "boom"}


def test_it_lists_a_refusals_detail_with_its_error(api_client, alice, alices_conversation):
    root = make_message(conversation=alices_conversation, content="a long story")
    detail = {
        "scope": "user",
        "reason": "too_large",
        "limit_usd": "0.002",
        "spent_usd": "0.001354",
        "reserved_usd": "0",
        "remaining_usd": "0.000646",
        "needed_usd": "0.000901",
        "period": "monthly",
        "period_end": "2026-12-31T23:00:00Z",
    }
    refused = make_message(
        conversation=alices_conversation,
        role="assistant",
        parent=root,
        status="failed",
        error_code="budget_exceeded",
        error_message="This conversation is too long for what is left of your budget.",
        error_detail=detail,
    )
    login(api_client, alice)
    rows = {
        m["id"]: m
        for m in api_client.get(f"/api/conversations/{alices_conversation.id}/messages/").json()
    }
    assert rows[refused.id]["error"] == {
        "code": "budget_exceeded",
        "message": "This conversation is too long for what is left of your budget.",
        "detail": detail,
    }
    assert rows[root.id]["error"] is None


def test_it_exports_markdown_and_json(api_client, alice, alices_conversation):
    root = make_message(conversation=alices_conversation, content="first question")
    make_message(conversation=alices_conversation, role="assistant", content="old", parent=root)
    make_message(conversation=alices_conversation, role="assistant", content="newer", parent=root)
    login(api_client, alice)
    base = f"/api/conversations/{alices_conversation.id}/export/"
    r = api_client.get(base + "?format=markdown")
    assert r.status_code == 200
    assert r["Content-Disposition"] == 'attachment; filename="trip-to-lisbon.md"'
    text = r.content.decode()
    assert "# Trip to Lisbon" in text
    assert "first question" in text
    assert "newer" in text
    assert "old" not in text  # only the active branch
    r = api_client.get(base + "?format=json")
    assert r.status_code == 200
    assert r["Content-Disposition"].endswith('.json"')
    data = json.loads(r.content)
    assert data["conversation"]["id"] == alices_conversation.id
    assert len(data["messages"]) == 3  # the whole tree
    r = api_client.get(base + "?format=pdf")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error"
