"""`/v1/` through Django, for servers that do not use `server.asgi.http_app`'s lean dispatch.

`server/asgi.py` answers `/v1/` before Django ever sees it; this route is the fallback (and keeps
the SPA's catch-all route away from `/v1/`). It replays the request into the same ASGI app.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from gateway.openai_api import application


@csrf_exempt
async def openai_bridge(
    request: HttpRequest, rest: str = ""
) -> HttpResponse | StreamingHttpResponse:
    scope: dict[str, Any] = {
        "type": "http",
        "method": request.method or "GET",
        "path": "/" + request.path.lstrip("/"),
        "headers": [
            (k.lower().replace("_", "-").encode("latin-1"), str(v).encode("latin-1"))
            for k, v in request.headers.items()
        ],
    }
    body = request.body
    sent_body = False
    out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    forever = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await forever.wait()
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        await out.put(dict(message))

    task = asyncio.get_running_loop().create_task(application(scope, receive, send))
    start = await out.get()
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    content_type = headers.pop("content-type", "application/json")

    async def body_chunks() -> Any:
        while True:
            message = await out.get()
            yield message.get("body", b"")
            if not message.get("more_body", False):
                await task
                return

    if content_type.startswith("text/event-stream"):
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            body_chunks(), status=start["status"], content_type=content_type
        )
    else:
        chunks = [chunk async for chunk in body_chunks()]
        response = HttpResponse(b"".join(chunks), status=start["status"], content_type=content_type)
    for name, value in headers.items():
        if name != "content-length":
            response[name] = value
    return response


urlpatterns = [re_path(r"^(?P<rest>.*)$", openai_bridge)]
