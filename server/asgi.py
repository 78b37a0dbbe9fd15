"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings.local")

# Initialise Django (apps, models) before importing anything that touches models: routing imports
# consumers, which import models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from core.ws_origin import SameOriginValidator  # noqa: E402
from gateway.openai_api import application as openai_api_app  # noqa: E402
from server.routing import websocket_urlpatterns  # noqa: E402


async def http_app(scope: Any, receive: Any, send: Any) -> None:
    """`/v1/` (the OpenAI-compatible gateway) skips Django's middleware and request cycle."""
    if scope["path"].startswith("/v1/"):
        await openai_api_app(scope, receive, send)
    else:
        await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Scheme, host and port of the Origin, not just its host name (core.ws_origin).
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
