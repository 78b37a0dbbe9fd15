"""Security headers on every response, including files WhiteNoise serves (the SPA shell).

WhiteNoise answers static files before Django's own middleware runs, so the SPA's index.html got
no X-Frame-Options and could be framed (clickjacking). This middleware sits *outside* WhiteNoise,
so every answer passes through it: X-Frame-Options DENY and a Content-Security-Policy with
`frame-ancestors 'none'`, `default-src 'self'` and no inline script (the policy is a setting,
CONTENT_SECURITY_POLICY, explained in server/settings/base.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


def _apply(response: HttpResponseBase) -> HttpResponseBase:
    policy: str = settings.CONTENT_SECURITY_POLICY
    if policy and "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = policy
    if "X-Frame-Options" not in response:
        response["X-Frame-Options"] = "DENY"
    return response


class SecurityHeadersMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return _apply(response)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        assert not isinstance(response, HttpResponseBase)
        return _apply(await response)
