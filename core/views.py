"""Site-level views: health, the SPA shell, and JSON renderings of Django's own error pages."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import ensure_csrf_cookie

from core.exceptions import error_body

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("healthz: database check failed")
        return False
    return True


async def _redis_ok() -> bool | None:
    if not settings.REDIS_URL:
        return None
    import redis.asyncio as redis_asyncio

    client = redis_asyncio.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        return bool(await client.ping())
    except Exception:
        logger.exception("healthz: redis check failed")
        return False
    finally:
        await client.aclose()


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the app, its database and (if configured) Redis answer; 503 otherwise."""
    database = await sync_to_async(_database_ok)()
    redis_state = await _redis_ok()
    ok = database and redis_state is not False
    body: dict[str, object] = {
        "status": "ok" if ok else "unavailable",
        "database": "ok" if database else "down",
        "redis": {None: "not_configured", True: "ok", False: "down"}[redis_state],
    }
    return JsonResponse(body, status=200 if ok else 503)


@ensure_csrf_cookie
def spa_index(request: HttpRequest) -> HttpResponseBase:
    """The SPA shell for every client-side route; the router in the browser takes it from there."""
    index = settings.SPA_DIST_DIR / "index.html"
    if not index.exists():
        return HttpResponse(
            "The web app is not built. Run `make run` (or `cd frontend && npm run build`).",
            status=503,
            content_type="text/plain",
        )
    response = FileResponse(index.open("rb"), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return JsonResponse(
        error_body("permission_denied", f"CSRF check failed: {reason}", {"csrf": True}),
        status=403,
    )


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    if request.path.startswith(("/api/", "/v1/")):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return spa_index(request)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("validation_error", "Bad request."), status=400)
