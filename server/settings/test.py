"""Test settings: small overrides only. Postgres and Redis are used when the environment names them
(CI does), SQLite and the in-memory layer otherwise."""

from __future__ import annotations

from server.env import VAR_DIR
from server.settings.base import *  # noqa: F403
from server.settings.base import EMBEDDED_CHANNEL_LAYER, REDIS_URL

SECRET_KEY = "test-secret-key-" + "x" * 40
FIELD_ENCRYPTION_KEY = "test-field-encryption-key-" + "y" * 16
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if not REDIS_URL:
    CHANNEL_LAYERS = {"default": EMBEDDED_CHANNEL_LAYER}
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# The fake upstream listens on 127.0.0.1; tests of the refusal override this.
PROVIDER_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1", "localhost"]
# No collectstatic in tests: plain static URLs, as under `make run` (server/settings/local.py).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests build the SPA only for the browser suite; the API tests need no built assets.
WHITENOISE_AUTOREFRESH = True
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "login": "1000/min",
        "login_account": "1000/min",
        "invitation": "1000/min",
    },
}
if REDIS_URL:
    import uuid

    # A fresh key space per test process, so counters never leak between runs.
    _prefix = f"potluck-test-{uuid.uuid4().hex[:8]}"
    CHANNEL_LAYERS = {
        "default": {
            # The layer production uses (see base.py), with a key space of its own.
            "BACKEND": "core.channel_layer.PubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": _prefix},
        }
    }
    CACHES["default"]["KEY_PREFIX"] = _prefix  # noqa: F405
if IS_SQLITE:  # noqa: F405
    import os

    # A file, not shared-cache memory: threads in concurrency tests then wait on the busy timeout
    # instead of failing with "table is locked". One file per process: runs never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
