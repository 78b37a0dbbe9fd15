"""An encrypted text field keyed by FIELD_ENCRYPTION_KEY, never by SECRET_KEY.

django-cryptography's field takes an encryption key, but its Fernet signer still HMACs with
SECRET_KEY, so rotating SECRET_KEY would make every stored value unreadable. Here both the AES key
and the HMAC key are derived (HKDF, distinct labels) from FIELD_ENCRYPTION_KEY, resolved at use
time so a rotation command and tests can switch keys without re-importing models.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django_cryptography.core.signing import FernetSigner
from django_cryptography.fields import get_encrypted_field
from django_cryptography.utils.crypto import FernetBytes


@functools.lru_cache(maxsize=8)
def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"potluck-field-v1", info=label).derive(
        secret.encode("utf-8")
    )


class FieldKeyFernet(FernetBytes):
    """Fernet (AES-CBC + HMAC-SHA256) with both keys derived from one field-encryption secret."""

    def __init__(self, secret: str | None = None) -> None:
        # No super().__init__: it would default the signer to SECRET_KEY.
        self._secret = secret

    @property
    def secret(self) -> str:
        secret = self._secret if self._secret is not None else settings.FIELD_ENCRYPTION_KEY
        if not secret:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not set.")
        return secret

    @property
    def key(self) -> bytes:  # type: ignore[override]  # the base class sets a plain attribute
        return _derive(self.secret, b"aes")

    @property
    def signer(self) -> FernetSigner:  # type: ignore[override]
        return FernetSigner(key=_derive(self.secret, b"hmac"))


_EncryptedTextBase: Any = get_encrypted_field(models.TextField, True)


class EncryptedTextField(_EncryptedTextBase):  # type: ignore[misc]
    """A TextField stored as ciphertext (bytes) in the database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("key", None)
        super().__init__(*args, **kwargs)
        self._fernet = FieldKeyFernet()

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = models.TextField.deconstruct(self)
        kwargs.pop("key", None)
        kwargs.pop("ttl", None)
        return name, "core.fields.EncryptedTextField", list(args), kwargs
