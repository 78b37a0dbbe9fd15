"""`/v1/` through Django's URLs (not server.asgi's dispatch) is a 404 in OpenAI's envelope."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_answers_v1_outside_the_asgi_dispatch_with_a_clear_404() -> None:
    response = Client().post("/v1/chat/completions", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
