"""The types every wire adapter and caller shares: configs, requests, events, errors, the session.

This module imports no adapter; `providers.wire.dispatch` picks the adapter for a provider.
Callers build a `ProviderConfig` (decrypted key + optional base URL) and a `ChatRequest`, then
iterate `dispatch.stream_chat(config, request)`: `TextDelta`s as they arrive, at most one
`UsageReport` (normalised to OpenAI's convention, only when the provider reported usage) and one
`Finish`.
Failures raise `ProviderError` with one of the contract's provider codes. Closing the generator
(`aclose()` or cancelling the task iterating it) closes the upstream HTTP connection.

Everything HTTP goes through one pooled `aiohttp.ClientSession` per running event loop. Redirects
are never followed (a 3xx is an error): a redirect would carry the key's header to another origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from typing import Literal

import aiohttp

from providers.wire.destinations import GuardedResolver

logger = logging.getLogger("providers.wire")

ProviderName = Literal["openai", "anthropic", "mistral", "gemini", "openai_compatible"]
PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "mistral", "gemini", "openai_compatible")

# CONTRACT "Provider keys": the API roots the providers' paths are appended to.
DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
}

# Timeouts and retry policy. Module constants read at call time, so tests can shrink them.
CONNECT_TIMEOUT: float = 10.0  # TCP + TLS connect
FIRST_BYTE_TIMEOUT: float = 120.0  # request sent -> response headers, and -> first body bytes
IDLE_TIMEOUT: float = 60.0  # longest silence tolerated between two body reads
MAX_RETRIES: int = 2  # extra attempts, only ever before the first token
RETRY_BACKOFF: float = 0.5  # first backoff in seconds; doubles per attempt
RETRY_AFTER_CAP: float = 4.0  # a longer retry-after is surfaced to the caller, not waited for

ProviderErrorCode = Literal[
    "provider_auth",
    "provider_rate_limited",
    "provider_unavailable",
    "context_length_exceeded",
    "provider_error",
]


@dataclass(frozen=True)
class ProviderConfig:
    provider: str
    api_key: str = field(repr=False)  # never in a repr, log line or error message
    base_url: str | None

    def resolved_base_url(self) -> str:
        """The API root, without a trailing slash (CONTRACT "Provider keys")."""
        if self.base_url:
            return self.base_url.rstrip("/")
        try:
            return DEFAULT_BASE_URLS[self.provider]
        except KeyError:
            raise ProviderError(
                "provider_error", f"Provider {self.provider!r} needs a base URL."
            ) from None


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[ChatMessage]
    max_tokens: int
    system: str | None = None
    temperature: float | None = None
    stop: list[str] | None = None


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class UsageReport:
    """Token counts in OpenAI's convention whatever the provider.

    `input_tokens` includes cached and cache-write tokens; `output_tokens` includes reasoning.
    """

    input_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int


FinishReason = Literal["stop", "length", "content_filter", "other"]


@dataclass(frozen=True)
class Finish:
    reason: str  # one of FinishReason
    raw: str | None = None  # the provider's own value, e.g. "end_turn", "MAX_TOKENS"


ProviderEvent = TextDelta | UsageReport | Finish


class ProviderError(Exception):
    """A provider failure, with one of the contract's provider codes.

    `message` is a short summary of our own (provider name, HTTP status): it reaches members, in
    `message.failed` frames and /v1 errors, so it never carries upstream text (an internal server's
    error page, a port scan's answer). `detail` is a sanitised excerpt of what the upstream said,
    for admins only (the key test). Neither contains the API key (upstream text is scrubbed before
    it gets here). `partial` is True when the error was raised after output began.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        partial: bool = False,
        retryable: bool = False,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.partial = partial
        # Internal: whether a fresh attempt may succeed (only used before the first token).
        self.retryable = retryable

    def __repr__(self) -> str:
        return (
            f"ProviderError(code={self.code!r}, message={self.message!r}, status={self.status!r},"
            f" retry_after={self.retry_after!r}, partial={self.partial!r})"
        )

    def __str__(self) -> str:
        return self.message


# --- the shared HTTP session -------------------------------------------------------------------

# One pooled session per event loop: aiohttp sessions are bound to the loop that created them,
# and tests (and asgiref's async_to_sync) run fresh loops.
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


def _forget_dead_sessions() -> None:
    for loop in list(_sessions):
        if loop.is_closed():
            session = _sessions.pop(loop)
            # The loop is gone (asgiref's async_to_sync, tests), so the session cannot be closed
            # the normal way: mark it and its connector closed so they do not log "Unclosed
            # client session/connector" errors when collected. (Its idle sockets are freed by
            # the garbage collector, with at most a ResourceWarning, silent by default.)
            connector = session.connector
            with contextlib.suppress(Exception):
                session.detach()
            if connector is not None:
                with contextlib.suppress(Exception):
                    connector._close()


def get_session() -> aiohttp.ClientSession:
    """The shared session of the running loop, created on first use."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        _forget_dead_sessions()
        connector = aiohttp.TCPConnector(
            limit=512,
            limit_per_host=0,
            enable_cleanup_closed=True,
            # Internal destinations are refused on the resolved address (SSRF); see destinations.
            resolver=GuardedResolver(),
        )
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
            raise_for_status=False,
        )
        _sessions[loop] = session
    return session


async def close_session() -> None:
    """Close the running loop's shared session (call at shutdown and in test teardown)."""
    loop = asyncio.get_running_loop()
    session = _sessions.pop(loop, None)
    if session is not None and not session.closed:
        await session.close()
    _forget_dead_sessions()
