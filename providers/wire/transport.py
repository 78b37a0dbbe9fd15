"""HTTP plumbing shared by the protocol modules: requests, timeouts, error mapping, scrubbing."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from django.utils.translation import gettext as _
from multidict import CIMultiDictProxy
from yarl import URL

from providers.wire import base
from providers.wire.base import ProviderConfig, ProviderError
from providers.wire.destinations import check_literal_host, is_not_allowed
from providers.wire.sse import SSEEvent, SSEParser

logger = logging.getLogger("providers.wire")

DISPLAY_NAMES: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "mistral": "Mistral",
    "gemini": "Gemini",
    "openai_compatible": "The OpenAI-compatible server",
}
_MAX_ERROR_BODY = 64 * 1024
# The admin's excerpt of an upstream error body: enough to read a provider's error message,
# too little to exfiltrate an internal page through the key test.
_MAX_SURFACED_MESSAGE = 200

# Upstream phrases meaning "the prompt does not fit the model's context window".
_CONTEXT_PATTERNS = (
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "exceeds the maximum number of tokens",
    "too large for model",
    "prompt too long",
    "context window",
)
# 429s that a retry cannot fix (the request is too large, or the quota is spent).
_NO_RETRY_429 = ("request too large", "exceeded your current quota", "insufficient_quota")


def display_name(config: ProviderConfig) -> str:
    return DISPLAY_NAMES.get(config.provider, config.provider)


def scrub(text: str, api_key: str) -> str:
    """Remove the key (and anything that looks like a piece of it) from upstream text."""
    if api_key:
        text = text.replace(api_key, "[redacted]")
        if len(api_key) >= 12:
            # Providers echo masked keys ("sk-abc1***wxyz"): drop words sharing its ends.
            head, tail = re.escape(api_key[:8]), re.escape(api_key[-6:])
            text = re.sub(rf"\S*(?:{head}|{tail})\S*", "[redacted]", text)
    # OpenAI: "Incorrect API key provided: <key>." echoes whatever was sent.
    return re.sub(r"(?i)(api key provided: )\S+", r"\1[redacted]", text)


def _short(text: str) -> str:
    # Whitespace and control characters collapse to single spaces: one plain line.
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(text) > _MAX_SURFACED_MESSAGE:
        return text[: _MAX_SURFACED_MESSAGE - 1] + "…"
    return text


def upstream_message(payload: Any) -> str:
    """The human message of any provider's error envelope (see PROTOCOLS.md)."""
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error")
    candidates = [
        error.get("message") if isinstance(error, dict) else error,
        payload.get("message"),  # Mistral; its 422 nests {"detail": [...]} here
        payload.get("detail"),  # Mistral 401
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            return candidate
        if isinstance(candidate, (dict, list)):
            return json.dumps(candidate)
    return ""


def _parse_retry_after(headers: Mapping[str, str], payload: Any) -> float | None:
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(parsed.timestamp() - time.time(), 0.0)
    # Gemini: google.rpc.RetryInfo {"retryDelay": "48s"} in the body only.
    error = payload.get("error") if isinstance(payload, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = re.fullmatch(r"\s*([0-9.]+)s\s*", str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def classify_http_error(
    config: ProviderConfig, status: int, headers: Mapping[str, str], body: bytes
) -> ProviderError:
    """Map an upstream HTTP error to the contract's provider codes."""
    text = body.decode("utf-8", errors="replace")
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = None
    message = upstream_message(payload) or text
    lowered = text.lower()
    name = display_name(config)
    should_retry = headers.get("x-should-retry", "").lower()
    retry_after = _parse_retry_after(headers, payload)
    retryable = False
    if status in (401, 403) or (
        config.provider == "gemini"
        and status == 400
        and ("api_key_invalid" in lowered or "api key not valid" in lowered)
    ):
        code, summary = "provider_auth", _("%(name)s refused the API key") % {"name": name}
    elif status == 429:
        code = "provider_rate_limited"
        summary = _("%(name)s is rate limiting requests") % {"name": name}
        retryable = not any(phrase in lowered for phrase in _NO_RETRY_429)
    elif status >= 500:
        code, summary = "provider_unavailable", _("%(name)s is unavailable") % {"name": name}
        retryable = True
    elif any(pattern in lowered for pattern in _CONTEXT_PATTERNS):
        code, summary = "context_length_exceeded", _("The conversation is too long for this model")
    else:
        code, summary = "provider_error", _("%(name)s rejected the request") % {"name": name}
    if should_retry == "false":
        retryable = False
    # The upstream's words go to `detail` (admins) only; members get the summary and the code.
    return ProviderError(
        code,
        f"{summary} (HTTP {status}).",
        status=status,
        retry_after=retry_after if code == "provider_rate_limited" else None,
        retryable=retryable,
        detail=_short(scrub(message, config.api_key)),
    )


def midstream_error(
    config: ProviderConfig, error: Any, *, partial: bool, kind: str | None = None
) -> ProviderError:
    """Map an error event inside a 200 stream (OpenAI/Gemini `error` objects, Anthropic `event:
    error`)."""
    error_type = kind or ""
    status: int | None = None
    if isinstance(error, dict):
        error_type = str(error.get("type") or error.get("status") or error_type)
        if isinstance(error.get("code"), int):
            status = error["code"]
    lowered = json.dumps(error).lower() if error is not None else ""
    name = display_name(config)
    if any(pattern in lowered for pattern in _CONTEXT_PATTERNS):
        code = "context_length_exceeded"
    elif "rate_limit" in lowered or status == 429 or error_type == "RESOURCE_EXHAUSTED":
        code = "provider_rate_limited"
    elif (
        error_type in ("server_error", "overloaded_error", "api_error", "timeout_error")
        or error_type in ("UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED")
        or (status is not None and status >= 500)
    ):
        code = "provider_unavailable"
    else:
        code = "provider_error"
    message = _short(scrub(upstream_message({"error": error}), config.api_key))
    return ProviderError(
        code,
        _("%(name)s reported an error during the stream.") % {"name": name},
        status=status,
        partial=partial,
        retryable=not partial and code == "provider_unavailable",
        detail=message or _short(error_type),
    )


def truncated_error(config: ProviderConfig, *, partial: bool) -> ProviderError:
    return ProviderError(
        "provider_unavailable",
        _("The stream from %(name)s ended before it was complete.")
        % {"name": display_name(config)},
        partial=partial,
    )


def retry_delay(exc: ProviderError, attempt: int) -> float | None:
    """Seconds to wait before retrying `exc`, or None when it must not be retried."""
    if exc.partial or not exc.retryable or attempt >= base.MAX_RETRIES:
        return None
    if exc.retry_after is not None:
        if exc.retry_after > base.RETRY_AFTER_CAP:
            return None  # the caller decides what to do with a long wait
        return exc.retry_after
    return float(base.RETRY_BACKOFF * (2**attempt))


def _connection_error(config: ProviderConfig, exc: BaseException) -> ProviderError:
    if is_not_allowed(exc):
        return _destination_refused(config)
    # Only the exception's class, and only for admins: its text can carry the URL (which may hold
    # a key), and the kind of failure tells a member which internal ports are open.
    return ProviderError(
        "provider_unavailable",
        _("Could not reach %(name)s.") % {"name": display_name(config)},
        retryable=True,
        detail=type(exc).__name__,
    )


def _destination_refused(config: ProviderConfig) -> ProviderError:
    return ProviderError(
        "provider_error",
        _("The base URL of %(name)s points at an address that is not allowed.")
        % {"name": display_name(config)},
        detail="Private, loopback and link-local addresses need PROVIDER_ALLOWED_NETWORKS.",
    )


def _redirect_error(config: ProviderConfig, status: int) -> ProviderError:
    return ProviderError(
        "provider_error",
        _("%(name)s answered with a redirect (HTTP %(status)s), which is not followed.")
        % {"name": display_name(config), "status": status},
        status=status,
        detail="Check the key's base URL: it should be the API root itself.",
    )


async def _read_error_body(response: aiohttp.ClientResponse) -> bytes:
    try:
        async with asyncio.timeout(base.IDLE_TIMEOUT):
            return await response.content.read(_MAX_ERROR_BODY)
    except (TimeoutError, aiohttp.ClientError):
        return b""
    finally:
        response.close()


async def request(
    config: ProviderConfig,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json_body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> aiohttp.ClientResponse:
    """Send one request; return the response once its headers say success.

    Raises ProviderError for HTTP errors, connection errors and a first-byte timeout. The caller
    owns the returned response and must close or release it.
    """
    session = base.get_session()
    try:
        # IP literals never reach the guarded resolver (aiohttp connects to them directly).
        check_literal_host(URL(url).raw_host or "")
    except OSError as exc:
        raise _connection_error(config, exc) from None
    try:
        async with asyncio.timeout(base.FIRST_BYTE_TIMEOUT):
            response = await session.request(
                method,
                url,
                headers=headers,
                json=json_body,
                params=params,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=base.CONNECT_TIMEOUT),
                # A redirect would carry the credential headers (x-api-key, x-goog-api-key,
                # Authorization) wherever the Location points: never follow one.
                allow_redirects=False,
            )
    except TimeoutError as exc:
        if isinstance(exc, aiohttp.ClientError):  # connect timeout: worth another attempt
            raise _connection_error(config, exc) from None
        raise ProviderError(
            "provider_unavailable",
            _("%(name)s did not answer within %(seconds)gs.")
            % {"name": display_name(config), "seconds": base.FIRST_BYTE_TIMEOUT},
        ) from None
    except aiohttp.ClientError as exc:
        raise _connection_error(config, exc) from None
    if response.status >= 400:
        body = await _read_error_body(response)
        raise classify_http_error(config, response.status, _headers(response.headers), body)
    if response.status >= 300:
        response.close()
        raise _redirect_error(config, response.status)
    return response


def _headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


async def iter_body(
    config: ProviderConfig, response: aiohttp.ClientResponse
) -> AsyncIterator[bytes]:
    """The response body as it arrives, bounded by the first-byte and idle timeouts."""
    timeout = base.FIRST_BYTE_TIMEOUT
    while True:
        try:
            async with asyncio.timeout(timeout):
                chunk = await response.content.readany()
        except TimeoutError:
            raise ProviderError(
                "provider_unavailable",
                _("%(name)s stopped sending for %(seconds)gs.")
                % {"name": display_name(config), "seconds": timeout},
            ) from None
        except aiohttp.ClientError as exc:
            raise ProviderError(
                "provider_unavailable",
                _("The connection to %(name)s broke.") % {"name": display_name(config)},
                detail=type(exc).__name__,
            ) from None
        if not chunk:
            return
        timeout = base.IDLE_TIMEOUT
        yield chunk


async def iter_sse(
    config: ProviderConfig, response: aiohttp.ClientResponse
) -> AsyncIterator[SSEEvent]:
    parser = SSEParser()
    async for chunk in iter_body(config, response):
        for event in parser.feed(chunk):
            yield event


async def finish(response: aiohttp.ClientResponse) -> None:
    """After the terminator: drain what is left briefly, so the connection can be pooled."""
    try:
        async with asyncio.timeout(0.5):
            while await response.content.readany():
                pass
    except (TimeoutError, aiohttp.ClientError):
        response.close()
    else:
        response.release()


def load_json(config: ProviderConfig, data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        logger.warning("provider %s sent an event that is not JSON", config.provider)
        return None


async def get_json(
    config: ProviderConfig,
    url: str,
    *,
    headers: dict[str, str],
    params: dict[str, str] | None = None,
) -> Any:
    """GET a JSON document, with the same retry policy as streams."""
    attempt = 0
    while True:
        try:
            response = await request(config, "GET", url, headers=headers, params=params)
            try:
                async with asyncio.timeout(base.IDLE_TIMEOUT):
                    body = await response.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise _connection_error(config, exc) from None
            finally:
                response.release()
            try:
                return json.loads(body)
            except ValueError:
                raise ProviderError(
                    "provider_error",
                    _("%(name)s answered with something not JSON.")
                    % {"name": display_name(config)},
                ) from None
        except ProviderError as exc:
            delay = retry_delay(exc, attempt)
            if delay is None:
                raise
        await asyncio.sleep(delay)
        attempt += 1
