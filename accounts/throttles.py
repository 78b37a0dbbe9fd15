"""Login throttles, shared by the API login and the Django admin's login page.

Two limits apply to every attempt: per client address (LOGIN_RATE) and per account
(LOGIN_ACCOUNT_RATE), so neither rotating addresses nor rotating accounts escapes both. The
client address is REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT reverse proxies, the address the
first trusted proxy saw: a client can prepend anything to X-Forwarded-For, so only the entries
our own proxies appended are believed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


def client_address(meta: Mapping[str, Any]) -> str:
    remote = str(meta.get("REMOTE_ADDR") or "")
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    # Each proxy appends the peer it saw: the last `proxies` entries are our proxies' words.
    return hops[-min(proxies, len(hops))]


class _SettingsRateThrottle(SimpleRateThrottle):
    """Reads its rate from the current settings (DRF freezes THROTTLE_RATES at import)."""

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(str(self.scope))
        return str(rate) if rate is not None else None


class LoginClientThrottle(_SettingsRateThrottle):
    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request.META)}


def _login_email(request: Any) -> str:
    data = getattr(request, "data", None)  # DRF's parsed body (the API login)
    if data is not None and hasattr(data, "get"):
        value = data.get("email")
    else:  # the Django admin's form
        value = request.POST.get("username") if isinstance(request, HttpRequest) else None
    return value.strip().lower() if isinstance(value, str) else ""


class LoginAccountThrottle(_SettingsRateThrottle):
    scope = "login_account"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        email = _login_email(request)
        if not email:
            return None
        # No e-mail addresses in cache keys; surrogatepass: any string the JSON parser lets in.
        ident = hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": ident}


LOGIN_THROTTLES: tuple[type[SimpleRateThrottle], ...] = (LoginClientThrottle, LoginAccountThrottle)


def login_allowed(request: HttpRequest) -> bool:
    """Count one login attempt of a plain Django request against both limits."""
    # Both throttles only read `request.META`/`request.POST` and never the view.
    plain: Any = request
    no_view: Any = None
    return all(throttle().allow_request(plain, no_view) for throttle in LOGIN_THROTTLES)
