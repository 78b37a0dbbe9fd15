"""Personal API tokens: creation, revocation, listing, and authentication for the /v1 API.

Secrets look like `pl-` + 43 url-safe characters. Only HMAC-SHA256(secret) is stored, keyed with
`API_TOKEN_HASH_KEY` (or a key derived from SECRET_KEY), so a database dump reveals nothing usable.

Authentication is on the gateway's hot path, so it is served from an in-process cache
(`TokenCache`) that never asks the database twice within `CACHE_TTL`. Correct invalidation:
every change that can take a token's rights away (revocation, a user or membership change, a
model or provider key change) calls `api_cache_invalidate()` after commit, which clears this
process's cache at once and, with REDIS_URL set, bumps a version key in Redis. Every /v1 request
reads that key (one Redis GET) and drops its cache when the version moved, so a token revoked
in any process is refused by the very next request everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.access import membership_get
from accounts.audit import audit_record
from accounts.models import Membership, User
from core.exceptions import ApplicationError, NotFoundError, outage_error
from gateway.models import ApiToken

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "pl-"  # noqa: S105 - a public marker, not a secret
PREFIX_SHOWN = len(TOKEN_PREFIX) + 8  # "pl-" + 8 characters, shown in lists
CACHE_TTL = 60.0  # seconds a cached token (or model) is trusted without asking the database
NEGATIVE_TTL = 5.0  # seconds an unknown secret stays known-bad
LAST_USED_EVERY = 60.0  # seconds between two last_used_at writes of one token
MAX_CACHED = 10_000


# --- hashing ------------------------------------------------------------------------------------


def _hash_key() -> bytes:
    key = getattr(settings, "API_TOKEN_HASH_KEY", "") or ""
    if key:
        return str(key).encode()
    # Derived, never SECRET_KEY itself: a distinct purpose gets a distinct key.
    return hashlib.sha256(b"potluck.api-token.v1:" + settings.SECRET_KEY.encode()).digest()


def token_secret_hash(secret: str) -> str:
    return hmac.new(_hash_key(), secret.encode(), hashlib.sha256).hexdigest()


# --- writes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # shown once, in the creation response only


def token_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    max_budget_usd: Decimal | None = None,
    models: list[str] | None = None,
) -> CreatedToken:
    """Create a token for `user` in their organisation; the secret is returned here only."""
    from providers.models import AIModel

    membership = membership_get(user=user)
    org = membership.organization
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(
            "expires_at must be in the future.",
            code="validation_error",
            detail={"fields": {"expires_at": ["must be in the future"]}},
        )
    if max_budget_usd is not None and max_budget_usd < 0:
        raise ApplicationError(
            "max_budget_usd must not be negative.",
            code="validation_error",
            detail={"fields": {"max_budget_usd": ["must not be negative"]}},
        )
    wanted = sorted(set(models or []))
    if wanted:
        known = set(
            AIModel.objects.filter(organization=org, model_id__in=wanted).values_list(
                "model_id", flat=True
            )
        )
        unknown = [m for m in wanted if m not in known]
        if unknown:
            raise ApplicationError(
                f"Unknown model: {unknown[0][:200]!r}.",
                code="validation_error",
                detail={"fields": {"models": [f"unknown model {m[:200]!r}" for m in unknown]}},
            )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization=org,
        user=user,
        name=name,
        prefix=secret[:PREFIX_SHOWN],
        last4=secret[-4:],
        secret_hash=token_secret_hash(secret),
        expires_at=expires_at,
        max_budget_usd=max_budget_usd,
        allowed_models=wanted,
    )
    token.full_clean()
    with transaction.atomic():
        token.save()
        audit_record(
            org=org,
            actor=user,
            action="token.created",
            target=token,
            data={
                "owner": user.email,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "max_budget_usd": None if max_budget_usd is None else format(max_budget_usd, "f"),
                "models": wanted,
            },
        )
    return CreatedToken(token=token, secret=secret)


def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke at once: the row is marked, every /v1 cache is invalidated after commit."""
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            org=token.organization,
            actor=actor,
            action="token.revoked",
            target=token,
            data={"owner_id": token.user_id},
        )
        transaction.on_commit(api_cache_invalidate)
    return token


def token_last_used_save(*, token_id: int, when: datetime) -> None:
    ApiToken.objects.filter(pk=token_id).update(last_used_at=when)


# --- reads and access ---------------------------------------------------------------------------


def token_list_for_user(*, user: User) -> list[ApiToken]:
    """The caller's live tokens; an admin gets every live token of the organisation."""
    membership = membership_get(user=user)
    tokens: QuerySet[ApiToken] = ApiToken.objects.filter(
        organization_id=membership.organization_id, revoked_at__isnull=True
    ).select_related("user")
    if not membership.is_admin:
        tokens = tokens.filter(user=user)
    return list(tokens.order_by("-created_at", "-id"))


def token_get_for_user(*, user: User, token_id: int) -> ApiToken:
    """A live token the caller may manage: their own, or (admins) any in their organisation."""
    membership = membership_get(user=user)
    token = (
        ApiToken.objects.filter(
            pk=token_id, organization_id=membership.organization_id, revoked_at__isnull=True
        )
        .select_related("user", "organization")
        .first()
    )
    if token is None:
        raise NotFoundError("Token not found.")
    if token.user_id != user.pk and not membership.is_admin:
        raise NotFoundError("Token not found.")
    return token


# --- authentication (the /v1 hot path) ----------------------------------------------------------


@dataclass(frozen=True)
class TokenPrincipal:
    """Everything a /v1 request needs to know about its caller, cached in-process."""

    token_id: int
    user_id: int
    organization_id: int
    expires_at: datetime | None
    max_budget_usd: Decimal | None
    allowed_models: frozenset[str]
    default_max_tokens: int

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def allows(self, model_id: str) -> bool:
        return not self.allowed_models or model_id in self.allowed_models


def token_principal_load(*, secret_hash: str) -> TokenPrincipal | None:
    """The database path: a live, unexpired token of an active member, or None (one query)."""
    row = (
        ApiToken.objects.filter(
            secret_hash=secret_hash,
            revoked_at__isnull=True,
            user__is_active=True,
            user__membership__organization_id=F("organization_id"),
        )
        .select_related("organization")
        .first()
    )
    if row is None or (row.expires_at is not None and row.expires_at <= timezone.now()):
        return None
    return TokenPrincipal(
        token_id=row.pk,
        user_id=row.user_id,
        organization_id=row.organization_id,
        expires_at=row.expires_at,
        max_budget_usd=row.max_budget_usd,
        allowed_models=frozenset(str(m) for m in row.allowed_models or []),
        default_max_tokens=row.organization.default_max_tokens,
    )


def _version_key() -> str:
    prefix = settings.CACHES.get("default", {}).get("KEY_PREFIX", "") or getattr(
        settings, "CHANNEL_LAYER_PREFIX", "potluck"
    )
    return f"{prefix}:api-cache-version"


_sync_redis: Any = None


def _redis_sync() -> Any:
    global _sync_redis  # noqa: PLW0603
    if _sync_redis is None:
        import redis

        _sync_redis = redis.Redis.from_url(str(settings.REDIS_URL), socket_timeout=2)
    return _sync_redis


_async_redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
    weakref.WeakKeyDictionary()
)


def _redis_async() -> Any:
    loop = asyncio.get_running_loop()
    client = _async_redis.get(loop)
    if client is None:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(str(settings.REDIS_URL), socket_timeout=2)
        _async_redis[loop] = client
    return client


class ApiCache:
    """In-process caches of the /v1 path: token principals by secret hash, and any other
    entries (models) by key. Entries live CACHE_TTL seconds; `clear()` drops everything."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[float, TokenPrincipal | None]] = {}
        self.entries: dict[Any, tuple[float, Any]] = {}
        self.remote_version: bytes | None = None
        self.last_used: dict[int, float] = {}

    def clear(self) -> None:
        self.tokens.clear()
        self.entries.clear()

    def get(self, key: Any) -> Any:
        hit = self.entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self.entries) >= MAX_CACHED:
            self.entries.clear()
        self.entries[key] = (time.monotonic() + CACHE_TTL, value)

    async def sync_version(self) -> None:
        """Drop everything if another process invalidated since we last looked (Redis only).

        Fails closed: if Redis cannot be read, the caches are dropped (a revocation is never
        missed) and the request is refused with `service_unavailable` (redis, 503) before any
        provider call: Redis is a service this deployment was configured to need."""
        if not settings.REDIS_URL:
            return
        try:
            version = await _redis_async().get(_version_key())
        except Exception as exc:
            self.clear()
            outage = outage_error(exc)
            if outage is None:
                raise
            raise outage from exc
        if version != self.remote_version:
            self.clear()
            self.remote_version = version


api_cache = ApiCache()


def api_cache_invalidate() -> None:
    """Drop every cached token and model here and (with Redis) in every other process.

    Call after commit (`transaction.on_commit(api_cache_invalidate)`)."""
    api_cache.clear()
    if settings.REDIS_URL:
        try:
            _redis_sync().incr(_version_key())
        except Exception:
            logger.exception("api cache version not bumped; other processes rely on the TTL")


async def token_authenticate(*, secret: str) -> TokenPrincipal | None:
    """The principal of a bearer secret, or None. No database query while cached."""
    from channels.db import database_sync_to_async

    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    await api_cache.sync_version()
    secret_hash = token_secret_hash(secret)
    now_mono = time.monotonic()
    hit = api_cache.tokens.get(secret_hash)
    if hit is not None and hit[0] >= now_mono:
        principal = hit[1]
    else:
        principal = await database_sync_to_async(token_principal_load)(secret_hash=secret_hash)
        if len(api_cache.tokens) >= MAX_CACHED:
            api_cache.tokens.clear()
        ttl = CACHE_TTL if principal is not None else NEGATIVE_TTL
        api_cache.tokens[secret_hash] = (now_mono + ttl, principal)
    if principal is None:
        return None
    now = timezone.now()
    if principal.expired(now):
        return None
    last = api_cache.last_used.get(principal.token_id, 0.0)
    if now_mono - last >= LAST_USED_EVERY:
        api_cache.last_used[principal.token_id] = now_mono
        # Off the hot path: the request does not wait for this write.
        task = asyncio.get_running_loop().create_task(
            database_sync_to_async(token_last_used_save)(token_id=principal.token_id, when=now)
        )
        _background.add(task)
        task.add_done_callback(_background.discard)
    return principal


_background: set[asyncio.Task[Any]] = set()


def _on_rights_changed(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(api_cache_invalidate)


def connect_invalidation_signals() -> None:
    """Invalidate the /v1 caches whenever something they hold changes (idempotent)."""
    from django.db.models.signals import post_delete, post_save

    from providers.models import AIModel, ProviderKey

    for model in (User, Membership, ApiToken, AIModel, ProviderKey):
        for signal in (post_save, post_delete):
            signal.connect(
                _on_rights_changed, sender=model, dispatch_uid=f"api-cache-{model.__name__}"
            )
