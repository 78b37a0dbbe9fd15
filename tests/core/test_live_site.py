"""Issue 13, items 6, 11 and 13 against `make run`'s settings (server.settings.local) in a live
Daphne: the Django admin renders without collectstatic, the API docs need no CDN, and every HTML
answer carries the framing and content-security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from tests.e2e.live import LiveApp, live_app

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("live-site"), with_celery=False) as live:
        live.manage(
            "shell",
            "-c",
            "from accounts.models import User;"
            f"User.objects.create_superuser('root@site.test', '{PASSWORD}')",
        )
        yield live


def test_it_renders_the_django_admin_under_make_run(app: LiveApp) -> None:
    with httpx.Client(base_url=app.url, timeout=30) as client:
        page = client.get("/admin/login/")
        assert page.status_code == 200, page.text[:500]
        css = re.search(r'href="(/static/admin/css/base[^"]*\.css)"', page.text)
        assert css is not None
        assert client.get(css.group(1)).status_code == 200
        form = {
            "username": "root@site.test",
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
            "next": "/admin/",
        }
        r = client.post("/admin/login/", data=form, headers={"Referer": f"{app.url}/admin/"})
        assert r.status_code == 302, r.text[:500]
        for path in ("/admin/", "/admin/providers/providerkey/", "/admin/accounts/user/add/"):
            assert client.get(path).status_code == 200, path


def test_it_serves_the_api_docs_from_its_own_static_files(app: LiveApp) -> None:
    with httpx.Client(base_url=app.url, timeout=30) as client:
        page = client.get("/api/docs/")
        assert page.status_code == 200
        assert "cdn.jsdelivr.net" not in page.text
        assert "<script>" not in page.text  # no inline script: the start-up script is a file
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources
        for source in sources:
            assert source.startswith("/"), source  # nothing from another origin
            assert client.get(source).status_code == 200, source


@pytest.mark.parametrize("path", ["/", "/login", "/admin/login/", "/api/docs/", "/healthz"])
def test_it_forbids_framing_and_inline_script_everywhere(app: LiveApp, path: str) -> None:
    with httpx.Client(base_url=app.url, timeout=30) as client:
        r = client.get(path)
    assert r.headers["x-frame-options"] == "DENY"
    policy = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
