"""Writes of provider keys and models, and the key test call.

The plaintext key exists only on the way in (create / rotate, straight into the encrypted field)
and on the way out to a provider (`providers.selectors.provider_key_config`). It never enters
audit data, log lines, error messages or return values of this module.
"""

from __future__ import annotations

import logging
import pickle
import re
from decimal import Decimal
from typing import Any, NotRequired, TypedDict
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.db.models import BinaryField, Value
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import Organization
from accounts.services import org_update
from core.exceptions import ApplicationError
from core.fields import FieldKeyFernet
from providers.catalog import CatalogPrice, catalog_price_lookup
from providers.models import AIModel, Provider, ProviderKey
from providers.selectors import provider_key_config

logger = logging.getLogger(__name__)

API_KEY_MAX_LENGTH = 4096
# Shorter keys show no suffix at all: four characters of a short key are too much of it.
MASK_MIN_KEY_LENGTH = 12
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9._:/-]+$")
MODEL_ID_MAX_LENGTH = 200


class _Unset:
    """Marks an argument the caller did not send (None is a real value for nullable prices)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _validation_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        f"{field}: {message}",
        code="validation_error",
        status=400,
        detail={"fields": {field: [message]}},
    )


def _clean_base_url(*, provider: str, base_url: str) -> str:
    """An http(s) URL, required for openai_compatible. Django's URLValidator is not used: it
    refuses single-label hosts such as `http://ollama:11434/v1` (a Docker service name)."""
    base_url = base_url.strip()
    if not base_url:
        if provider == Provider.OPENAI_COMPATIBLE:
            raise _validation_error("base_url", "Required for an OpenAI-compatible provider.")
        return ""
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise _validation_error("base_url", "Enter a valid http(s) URL.") from exc
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or any(c.isspace() for c in base_url)
    ):
        raise _validation_error("base_url", "Enter a valid http(s) URL.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _validation_error(
            "base_url", "The URL must not carry a query, fragment or credentials."
        )
    return base_url.rstrip("/")


def base_url_origin(*, provider: str, base_url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) the key is sent to: the base URL's, or the provider's default."""
    from providers.wire.base import DEFAULT_BASE_URLS

    parts = urlsplit(base_url or DEFAULT_BASE_URLS.get(provider, ""))
    try:
        port = parts.port
    except ValueError:
        port = None
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port or default_port)


def provider_key_origin_change_check(
    *, provider_key: ProviderKey, provider: str, base_url: str, new_key_given: bool
) -> bool:
    """Whether (provider, base_url) sends the key to another origin than today; raises when it
    does and the key is not entered again. Otherwise an admin could point a stored key at their
    own server, press Test and read the secret from the request (issue 13)."""
    before = base_url_origin(provider=provider_key.provider, base_url=provider_key.base_url)
    after = base_url_origin(provider=provider, base_url=base_url)
    if before == after:
        return False
    stored: str = provider_key.api_key
    if stored and not new_key_given:
        raise _validation_error(
            "api_key", "Enter the API key again to send it to a new base URL origin."
        )
    return True


def _clean_api_key(*, provider: str, api_key: str) -> str:
    api_key = api_key.strip()
    if len(api_key) > API_KEY_MAX_LENGTH:
        raise _validation_error("api_key", f"At most {API_KEY_MAX_LENGTH} characters.")
    # Local servers (Ollama, vLLM, LM Studio) need no key; every hosted provider does.
    if not api_key and provider != Provider.OPENAI_COMPATIBLE:
        raise _validation_error("api_key", "This field is required.")
    return api_key


def _last4(api_key: str) -> str:
    return api_key[-4:] if len(api_key) >= MASK_MIN_KEY_LENGTH else ""


@transaction.atomic
def provider_key_create(
    *, org: Organization, actor: Any, provider: str, label: str, api_key: str, base_url: str = ""
) -> ProviderKey:
    if provider not in Provider.values:
        raise _validation_error("provider", "Unknown provider.")
    base_url = _clean_base_url(provider=provider, base_url=base_url)
    api_key = _clean_api_key(provider=provider, api_key=api_key)
    key = ProviderKey(
        organization=org,
        provider=provider,
        label=label.strip(),
        base_url=base_url,
        api_key=api_key,
        key_last4=_last4(api_key),
    )
    # api_key is validated above (blank is allowed for local servers); base_url by our own rule.
    key.full_clean(exclude=["api_key", "base_url"])
    key.save()
    audit_record(
        org=org,
        actor=actor,
        action="provider_key.created",
        target=key,
        data={"provider": key.provider, "label": key.label, "base_url": key.base_url},
    )
    return key


@transaction.atomic
def provider_key_update(
    *,
    provider_key: ProviderKey,
    actor: Any,
    label: str = UNSET,
    api_key: str = UNSET,
    base_url: str = UNSET,
) -> ProviderKey:
    """Change label/base_url and, when `api_key` is given, rotate the key (sets `rotated_at`).

    A base URL with another origin (scheme, host, port) needs the key in the same call, and is
    recorded as its own audit event (`provider_key.origin_changed`)."""
    changed: list[str] = []
    origin_from = provider_key.base_url
    origin_changed = False
    if label is not UNSET and label.strip() != provider_key.label:
        provider_key.label = label.strip()
        changed.append("label")
    if base_url is not UNSET:
        cleaned = _clean_base_url(provider=provider_key.provider, base_url=base_url)
        if cleaned != provider_key.base_url:
            origin_changed = provider_key_origin_change_check(
                provider_key=provider_key,
                provider=provider_key.provider,
                base_url=cleaned,
                # Any new value (blank too, for local servers) replaces the stored secret.
                new_key_given=api_key is not UNSET,
            )
            provider_key.base_url = cleaned
            changed.append("base_url")
    rotated = api_key is not UNSET
    if rotated:
        new_key = _clean_api_key(provider=provider_key.provider, api_key=api_key)
        # The encrypted field's descriptor is untyped in the stubs; the value is a plain str.
        provider_key.api_key = new_key  # type: ignore[assignment]
        provider_key.key_last4 = _last4(new_key)
        provider_key.rotated_at = timezone.now()
    if not changed and not rotated:
        return provider_key
    provider_key.full_clean(exclude=["api_key", "base_url"])
    fields = [*changed, *(["api_key", "key_last4", "rotated_at"] if rotated else [])]
    provider_key.save(update_fields=fields)
    if changed:
        audit_record(
            org=provider_key.organization,
            actor=actor,
            action="provider_key.updated",
            target=provider_key,
            data={name: getattr(provider_key, name) for name in changed},
        )
    if origin_changed:
        audit_record(
            org=provider_key.organization,
            actor=actor,
            action="provider_key.origin_changed",
            target=provider_key,
            data={"from": origin_from, "to": provider_key.base_url},
        )
    if rotated:
        audit_record(
            org=provider_key.organization,
            actor=actor,
            action="provider_key.rotated",
            target=provider_key,
            data={"masked_key": provider_key.masked_key},
        )
    return provider_key


@transaction.atomic
def provider_key_delete(*, provider_key: ProviderKey, actor: Any) -> None:
    """Deletes the key and the models served through it (the ledger keeps plain values)."""
    model_ids = list(provider_key.models.values_list("model_id", flat=True))
    audit_record(
        org=provider_key.organization,
        actor=actor,
        action="provider_key.deleted",
        target=provider_key,
        data={"provider": provider_key.provider, "label": provider_key.label, "models": model_ids},
    )
    provider_key.delete()


def provider_key_mark_used(*, provider_key_id: int) -> None:
    """One UPDATE, no read and no full_clean: called on every provider call."""
    ProviderKey.objects.filter(pk=provider_key_id).update(last_used_at=timezone.now())


class ProviderKeyTestModel(TypedDict):
    name: str
    input_usd_per_mtok: Decimal | None
    output_usd_per_mtok: Decimal | None
    cached_input_usd_per_mtok: Decimal | None


class ProviderKeyTestError(TypedDict):
    code: str
    message: str


class ProviderKeyTestResult(TypedDict):
    ok: bool
    models: list[ProviderKeyTestModel]
    error: NotRequired[ProviderKeyTestError]


def _scrub(text: str, secret: str) -> str:
    # The adapters already scrub; this is the second lock on the same door.
    return text.replace(secret, "[redacted]") if secret else text


def provider_key_test(*, provider_key: ProviderKey) -> ProviderKeyTestResult:
    """Ask the provider for its model list with this key. A refusal is a result (ok: false), not
    an exception: the admin is testing exactly that."""
    from providers.wire.base import ProviderError
    from providers.wire.dispatch import list_models

    config = provider_key_config(provider_key=provider_key)
    try:
        names = async_to_sync(list_models)(config)
    except ProviderError as exc:
        # Admins get the summary and a short, scrubbed excerpt of the upstream's answer.
        message = f"{exc.message} {exc.detail}" if exc.detail else exc.message
        return {
            "ok": False,
            "models": [],
            "error": {"code": exc.code, "message": _scrub(message, config.api_key)},
        }
    except Exception as exc:  # an adapter bug must not become a 500 with a traceback
        logger.warning(
            "Provider key %s test failed unexpectedly: %s", provider_key.pk, type(exc).__name__
        )
        return {
            "ok": False,
            "models": [],
            "error": {"code": "provider_error", "message": "The provider call failed."},
        }
    models: list[ProviderKeyTestModel] = []
    for name in sorted(set(names)):
        price = catalog_price_lookup(
            provider=provider_key.provider, model_name=name, base_url=provider_key.base_url
        )
        models.append(
            {
                "name": name,
                "input_usd_per_mtok": price.input_usd_per_mtok if price else None,
                "output_usd_per_mtok": price.output_usd_per_mtok if price else None,
                "cached_input_usd_per_mtok": price.cached_input_usd_per_mtok if price else None,
            }
        )
    return {"ok": True, "models": models}


def _clean_model_id(model_id: str) -> str:
    if not model_id or len(model_id) > MODEL_ID_MAX_LENGTH:
        raise _validation_error("id", f"Between 1 and {MODEL_ID_MAX_LENGTH} characters.")
    if not MODEL_ID_RE.match(model_id) or model_id.startswith("/") or model_id.endswith("/"):
        raise _validation_error(
            "id", "Use letters, digits and . - _ : / only (not starting or ending with /)."
        )
    return model_id


def _check_price(field: str, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value < 0):
        raise _validation_error(field, "Must be a non-negative decimal.")


@transaction.atomic
def aimodel_create(
    *,
    org: Organization,
    actor: Any,
    provider_key: ProviderKey,
    name: str,
    model_id: str | None = None,
    input_usd_per_mtok: Decimal | None = None,
    output_usd_per_mtok: Decimal | None = None,
    cached_input_usd_per_mtok: Decimal | None = UNSET,
    cache_write_usd_per_mtok: Decimal | None = UNSET,
    max_output_tokens: int | None = None,
    enabled: bool = True,
) -> AIModel:
    """Enable a model. Omitted input/output prices come from the catalog; cached/cache-write rates
    come from it only when both main prices are omitted, so explicit prices (a free local model at
    "0") are never mixed with a hosted provider's cache rates. Unknown price → `price_unknown`."""
    if provider_key.organization_id != org.pk:
        raise _validation_error("provider_key", "No such provider key.")
    name = name.strip()
    if not name:
        raise _validation_error("name", "This field may not be blank.")
    model_id = _clean_model_id(name if model_id is None else model_id.strip())
    explicit = input_usd_per_mtok is not None or output_usd_per_mtok is not None
    catalog: CatalogPrice | None = None
    if input_usd_per_mtok is None or output_usd_per_mtok is None:
        catalog = catalog_price_lookup(
            provider=provider_key.provider, model_name=name, base_url=provider_key.base_url
        )
        if catalog is None:
            raise ApplicationError(
                f"No known price for {name!r}: send input_usd_per_mtok and output_usd_per_mtok.",
                code="price_unknown",
                status=400,
                detail={"name": name, "provider": provider_key.provider},
            )
        input_usd_per_mtok = (
            input_usd_per_mtok if input_usd_per_mtok is not None else catalog.input_usd_per_mtok
        )
        output_usd_per_mtok = (
            output_usd_per_mtok if output_usd_per_mtok is not None else catalog.output_usd_per_mtok
        )
    if cached_input_usd_per_mtok is UNSET:
        cached_input_usd_per_mtok = (
            catalog.cached_input_usd_per_mtok if catalog and not explicit else None
        )
    if cache_write_usd_per_mtok is UNSET:
        cache_write_usd_per_mtok = (
            catalog.cache_write_usd_per_mtok if catalog and not explicit else None
        )
    for field, value in (
        ("input_usd_per_mtok", input_usd_per_mtok),
        ("output_usd_per_mtok", output_usd_per_mtok),
        ("cached_input_usd_per_mtok", cached_input_usd_per_mtok),
        ("cache_write_usd_per_mtok", cache_write_usd_per_mtok),
    ):
        _check_price(field, value)
    if AIModel.objects.filter(organization=org, model_id=model_id).exists():
        raise _validation_error("id", f"A model with id {model_id!r} already exists.")
    ai_model = AIModel(
        organization=org,
        provider_key=provider_key,
        model_id=model_id,
        name=name,
        input_usd_per_mtok=input_usd_per_mtok,
        output_usd_per_mtok=output_usd_per_mtok,
        cached_input_usd_per_mtok=cached_input_usd_per_mtok,
        cache_write_usd_per_mtok=cache_write_usd_per_mtok,
        max_output_tokens=max_output_tokens,
        enabled=enabled,
    )
    ai_model.full_clean()
    with transaction.atomic():
        first = not AIModel.objects.filter(organization=org).exists()
        ai_model.save()
        audit_record(
            org=org,
            actor=actor,
            action="model.created",
            target=ai_model,
            data=_model_audit_data(ai_model, _MODEL_AUDIT_FIELDS),
        )
        if first and enabled and not org.title_model:
            # Titles work out of the box: the org's first model also titles new conversations
            # (32 output tokens each) until an admin picks another one or none (PATCH /api/org/).
            org_update(org=org, actor=actor, data={"title_model": ai_model.model_id})
    return ai_model


_MODEL_AUDIT_FIELDS = (
    "name",
    "provider_key_id",
    "input_usd_per_mtok",
    "output_usd_per_mtok",
    "cached_input_usd_per_mtok",
    "cache_write_usd_per_mtok",
    "max_output_tokens",
    "enabled",
)
_MODEL_UPDATABLE = frozenset({*_MODEL_AUDIT_FIELDS, "provider_key"})


def _model_audit_data(ai_model: AIModel, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in fields:
        value = getattr(ai_model, field)
        data[field] = str(value) if isinstance(value, Decimal) else value
    return data


@transaction.atomic
def aimodel_update(*, ai_model: AIModel, actor: Any, **changes: Any) -> AIModel:
    """Change prices, the upstream name, the key or `enabled`. New prices apply from now on: the
    ledger snapshots prices per row, so past rows are untouched."""
    unknown = set(changes) - _MODEL_UPDATABLE
    if unknown:
        raise _validation_error(sorted(unknown)[0], "Unknown field.")
    if "provider_key" in changes:
        new_key: ProviderKey = changes.pop("provider_key")
        if new_key.organization_id != ai_model.organization_id:
            raise _validation_error("provider_key", "No such provider key.")
        changes["provider_key_id"] = new_key.pk
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
        if not changes["name"]:
            raise _validation_error("name", "This field may not be blank.")
    for field in ("input_usd_per_mtok", "output_usd_per_mtok"):
        if field in changes and changes[field] is None:
            raise _validation_error(field, "This field may not be null.")
    changed: list[str] = []
    for field, value in changes.items():
        if field.endswith("_usd_per_mtok"):
            _check_price(field, value)
        if getattr(ai_model, field) != value:
            setattr(ai_model, field, value)
            changed.append(field)
    if not changed:
        return ai_model
    ai_model.full_clean()
    ai_model.save(update_fields=[*changed, "updated_at"])
    if "provider_key_id" in changed:
        # Keep the cached relation in step with the new id for the caller's serializer.
        ai_model.provider_key = ProviderKey.objects.get(pk=ai_model.provider_key_id)
    audit_record(
        org=ai_model.organization,
        actor=actor,
        action="model.updated",
        target=ai_model,
        data=_model_audit_data(ai_model, changed),
    )
    return ai_model


@transaction.atomic
def aimodel_delete(*, ai_model: AIModel, actor: Any) -> None:
    audit_record(
        org=ai_model.organization,
        actor=actor,
        action="model.deleted",
        target=ai_model,
        data={"name": ai_model.name, "provider": ai_model.provider_key.provider},
    )
    ai_model.delete()


class FieldKeyRotationError(Exception):
    """A stored key could not be read with the current key: nothing was changed."""


def _read_ciphertexts() -> list[tuple[int, bytes]]:
    # Raw bytes, bypassing the field's decrypt-on-load, so one unreadable row is reported by id
    # instead of aborting the whole queryset.
    table = connection.ops.quote_name(ProviderKey._meta.db_table)
    column = connection.ops.quote_name(ProviderKey._meta.get_field("api_key").column)
    pk = connection.ops.quote_name(ProviderKey._meta.get_field("id").column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk}, {column} FROM {table} ORDER BY {pk}")  # noqa: S608
        return [(int(row[0]), bytes(row[1])) for row in cursor.fetchall()]


@transaction.atomic
def provider_keys_reencrypt(*, new_secret: str, old_secret: str | None = None) -> int:
    """Re-encrypt every stored provider key under `new_secret`, all or nothing.

    Reads with `old_secret` (default: the current FIELD_ENCRYPTION_KEY), writes the field's own
    format (`FieldKeyFernet(secret).encrypt(pickle.dumps(value))`) and checks each new ciphertext
    round-trips before writing. Rows are locked for the duration, so a concurrent rotate (PATCH)
    of a key waits instead of being overwritten with a value under the old key.
    """
    old = FieldKeyFernet(old_secret)
    new = FieldKeyFernet(new_secret)
    if old.secret == new.secret:
        raise FieldKeyRotationError("The new key is the key already in use.")
    list(ProviderKey.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
    rows = _read_ciphertexts()
    unreadable: list[int] = []
    for key_id, ciphertext in rows:
        try:
            # Unpickling only after the HMAC check in decrypt(): the bytes are our own.
            plaintext = pickle.loads(old.decrypt(ciphertext))  # noqa: S301
        except Exception:
            unreadable.append(key_id)
            continue
        fresh = new.encrypt(pickle.dumps(plaintext))
        if pickle.loads(new.decrypt(fresh)) != plaintext:  # noqa: S301
            raise FieldKeyRotationError(f"Round-trip check failed for provider key {key_id}.")
        ProviderKey.objects.filter(pk=key_id).update(
            api_key=Value(fresh, output_field=BinaryField())
        )
    if unreadable:
        # Raising rolls back the rows already rewritten: all or nothing.
        raise FieldKeyRotationError(
            "Provider keys not readable with the current key (ids "
            f"{', '.join(map(str, unreadable))}); nothing was changed."
        )
    return len(rows)
