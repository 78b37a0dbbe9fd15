"""Production settings: every secret must be given, cookies are secure, nothing debug-only.

`manage.py check --deploy` is clean with the variables in docker/.env.example set (a test runs it).
Potluck expects a TLS-terminating reverse proxy in front (docker/Caddyfile); set
USE_X_FORWARDED_PROTO=true when that proxy sets X-Forwarded-Proto itself.
"""

from __future__ import annotations

import logging
import os

from django.core.exceptions import ImproperlyConfigured

from server.env import env
from server.settings.base import *  # noqa: F403
from server.settings.base import (
    DATABASES,
    FIELD_ENCRYPTION_KEY,
    IS_SQLITE,
    MIDDLEWARE,
    SECRET_KEY,
    SPECTACULAR_SETTINGS,
)

if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set to 50+ characters.")
if len(FIELD_ENCRYPTION_KEY) < 32:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY (or FIELD_ENCRYPTION_KEY_FILE) must be set to 32+ characters."
    )

# Never from the environment: a debug page would print settings and tracebacks to anyone.
DEBUG = False

# --- HTTPS ---------------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Container healthchecks and the Prometheus scraper talk plain HTTP on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself; otherwise clients could spoof HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # Preloading is a commitment the owner of the domain makes (all subdomains, HTTPS forever,
    # slow to undo), so it stays opt-in: SECURE_HSTS_PRELOAD=true. Without it, W021 is expected.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# drf-spectacular generates the whole OpenAPI schema during `check --deploy` and reports
# documentation gaps there; those are development findings (`manage.py spectacular --validate`),
# not deployment problems.
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "ENABLE_DJANGO_DEPLOY_CHECK": False}

# --- Database ----------------------------------------------------------------------------------
if not IS_SQLITE and "CONN_MAX_AGE" not in os.environ:
    # Under ASGI each request's sync code may run on a different thread, so persistent
    # connections pile up instead of being reused (Django docs, "Persistent connections").
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# --- Metrics ------------------------------------------------------------------------------------
# Requests are counted (and access-logged as JSON) here only; METRICS_TOKEN is in base.py.
MIDDLEWARE = ["core.metrics.MetricsMiddleware", *MIDDLEWARE]

# --- Logging: one JSON object per line on stdout -------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "filters": {"redact_paths": {"()": "core.logging.RedactSecretPaths"}},
    "loggers": {
        "django.request": {"filters": ["redact_paths"]},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # SQL with parameters is never logged, whatever LOG_LEVEL says.
        "django.db.backends": {"level": "WARNING"},
    },
}
# Python warnings (deprecations, missing directories) become log records too, hence JSON lines.
logging.captureWarnings(True)
# Celery keeps Django's logging (JSON) instead of installing its own handlers on the root logger.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
