"""Test settings: small overrides only. Postgres and Redis are used when the environment names them
(CI does), SQLite and the in-memory layer otherwise."""

from __future__ import annotations

from server.settings.base import *  # noqa: F403
from server.settings.base import REDIS_URL

SECRET_KEY = "test-secret-key-" + "x" * 40  # noqa: S105
FIELD_ENCRYPTION_KEY = "test-field-encryption-key-" + "y" * 16  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if not REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Tests build the SPA only for the browser suite; the API tests need no built assets.
WHITENOISE_AUTOREFRESH = True
