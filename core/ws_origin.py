"""The WebSocket handshake's Origin check: scheme, host and port, not the host name alone.

Channels' AllowedHostsOriginValidator compares only the host name with ALLOWED_HOSTS, so a page
on any port of an allowed host (`http://127.0.0.1:9999`, another app on the same machine) could
open a chat socket with the member's cookies. A socket is allowed when its Origin is exactly
one of CSRF_TRUSTED_ORIGINS, or is the socket's own origin: an allowed host, the same host and
port as the request's Host header, and http for ws / https for wss (or behind a TLS proxy that
SECURE_PROXY_SSL_HEADER trusts).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin, or None when it is not an http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _headers(scope: dict[str, Any]) -> dict[bytes, str]:
    return {name.lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _secure(scope: dict[str, Any], headers: dict[bytes, str]) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header is None:
        return False
    name, expected = proxy_header
    header = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    return headers.get(header, "").split(",")[0].strip() == expected


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = _headers(scope)
    origin = parse_origin(headers.get(b"origin", ""))
    if origin is None:
        return False
    trusted = {parse_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    if origin in trusted:
        return True
    scheme, host, port = origin
    if not validate_host(host, list(settings.ALLOWED_HOSTS)):
        return False
    request_host, request_port = split_domain_port(headers.get(b"host", ""))
    expected_scheme = "https" if _secure(scope, headers) else "http"
    own_port = int(request_port) if request_port else _DEFAULT_PORTS[expected_scheme]
    return (scheme, host, port) == (expected_scheme, request_host, own_port)


class SameOriginValidator:
    """ASGI middleware: pass sockets whose Origin is allowed, deny the handshake otherwise."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        denier: Any = WebsocketDenier()
        return await denier(scope, receive, send)
