"""Settings shared by every mode. Differences between modes come from the environment.

With nothing set, Potluck runs embedded: SQLite in var/, the in-memory channel layer and a Celery
broker on local disk. DATABASE_URL and REDIS_URL switch to Postgres and Redis.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from server.env import BASE_DIR, VAR_DIR, env, env_secret

# Lets admin and other generic classes be subscripted at run time, as the type stubs want.
django_stubs_ext.monkeypatch()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY: str = env_secret("SECRET_KEY") or ""
# Encrypts stored provider keys. Deliberately separate from SECRET_KEY, so rotating SECRET_KEY
# (sessions, CSRF) leaves stored provider keys readable.
FIELD_ENCRYPTION_KEY: str = env_secret("FIELD_ENCRYPTION_KEY") or ""

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
for _origin in CSRF_TRUSTED_ORIGINS:
    if urlparse(_origin).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://, got {_origin!r}"
        )

try:
    PORT = env.int("PORT", default=8000)
except ValueError as exc:
    raise ImproperlyConfigured(f"PORT must be an integer: {exc}") from exc

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally (offline, under the CSP)
    "channels",
    # Bottom to top: an app imports only the apps listed above it (chat and gateway are peers).
    "core",
    "accounts",
    "providers",
    "billing",
    "chat",
    "gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise, so the SPA shell and every static file get the CSP and X-Frame-Options.
    "core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "server.urls"
ASGI_APPLICATION = "server.asgi.application"
WSGI_APPLICATION = None
FORMS_URLFIELD_ASSUME_HTTPS = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
_default_db = f"sqlite:///{VAR_DIR / 'potluck.sqlite3'}"
try:
    DATABASES: dict[str, dict[str, Any]] = {
        "default": env.db_url("DATABASE_URL", default=_default_db)
    }
except (ImproperlyConfigured, KeyError, ValueError) as exc:
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a valid database URL (postgres://… or sqlite:///…): {exc}"
    ) from exc
if DATABASES["default"].get("ENGINE") not in {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}:
    raise ImproperlyConfigured(
        "DATABASE_URL must be a postgres://… or sqlite:///… URL; "
        f"got one for {DATABASES['default'].get('ENGINE') or 'no known engine'}."
    )
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    # The web server and the Celery processes share one file: WAL lets readers run beside the
    # writer, IMMEDIATE transactions take the write lock up front (no upgrade deadlocks), and the
    # timeout makes a writer wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # At least 12 characters, and not one of the ~20,000 most common passwords (next line).
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis, channel layer, cache, Celery --------------------------------------------------------
REDIS_URL: str | None = env.str("REDIS_URL", default="") or None
if REDIS_URL and urlparse(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// or rediss:// URL, got {REDIS_URL!r}")

CHANNEL_LAYER_PREFIX = env.str("CHANNEL_LAYER_PREFIX", default="potluck")
# Embedded mode's layer (one web process, so memory reaches every socket). Sized for bursts:
# Channels' defaults (100 messages per socket, 60 s) dropped frames of one member's 4 tabs with 20
# answers streaming, and a message older than `expiry` evicts its socket from every group.
# Frames that must arrive wait for room anyway (core.realtime); this keeps deltas flowing too.
EMBEDDED_CHANNEL_LAYER: dict[str, Any] = {
    "BACKEND": "core.channel_layer.InMemoryChannelLayer",
    "CONFIG": {"capacity": 2000, "expiry": 600},
}
if REDIS_URL:
    # Pub/sub: one PUBLISH per group send, where the list-based RedisChannelLayer costs about
    # seven Redis round trips per frame (send and receive); at 200 streams that layer fell
    # seconds behind (bench/chat_streams.py). Frames are best-effort by contract either way.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "core.channel_layer.PubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_LAYER_PREFIX},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHANNEL_LAYER_PREFIX,
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
else:
    CHANNEL_LAYERS = {"default": EMBEDDED_CHANNEL_LAYER}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A broker on local disk: unlike memory://, it reaches a separate beat and worker process.
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast/pidbox exchanges: without this kombu writes them to ./control in the cwd.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 150
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Settles reservations whose process died mid-call (at the reserved amount, marked estimated).
    "billing-reservation-reap": {"task": "billing.tasks.reservation_reap", "schedule": 60.0},
    # Catches budget warnings whose on-commit task was never queued (broker down at settlement).
    "billing-budget-warnings-scan": {
        "task": "billing.tasks.budget_warnings_scan",
        "schedule": 60.0,
    },
    # Daily usage rollups (today and yesterday, per org time zone) that the dashboards read.
    # The interval is configurable so tests can watch beat run it.
    "billing-usage-rollup": {
        "task": "billing.tasks.usage_rollup",
        "schedule": env.float("USAGE_ROLLUP_EVERY_SECONDS", default=600.0),
    },
}

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_ORG_TIME_ZONE = env.str("DEFAULT_ORG_TIME_ZONE", default="UTC")
if DEFAULT_ORG_TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"DEFAULT_ORG_TIME_ZONE {DEFAULT_ORG_TIME_ZONE!r} is unknown.")

# --- Static files and the SPA -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
SPA_DIST_DIR = Path(env.str("SPA_DIST_DIR", default=str(BASE_DIR / "frontend" / "dist")))
# Without collectstatic (make run, tests) static files come straight from the apps' folders;
# the Docker image runs collectstatic at build time and serves STATIC_ROOT.
WHITENOISE_USE_FINDERS = not STATIC_ROOT.exists()
# The built SPA is served from the site root (/, /assets/…); Vite fingerprints /assets/ files.
WHITENOISE_ROOT = str(SPA_DIST_DIR)
WHITENOISE_IMMUTABLE_FILE_TEST = r"^.+/assets/.+\.[0-9a-zA-Z_-]{8,}\.(js|css|woff2?|svg|png)$"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Sessions, CSRF -----------------------------------------------------------------------------
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The SPA reads the csrftoken cookie and sends it back as X-CSRFToken.
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "core.views.csrf_failure"

# --- Client addresses ---------------------------------------------------------------------------
# Reverse proxies in front of Potluck that append the client's address to X-Forwarded-For: 0 (the
# default) believes only the socket's peer; the bundled Caddy (docker/compose.yml) is 1.
try:
    TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be an integer: {exc}") from exc
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["core.parsers.JSONRenderer"],
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("LOGIN_RATE", default="20/min"),
        "login_account": env.str("LOGIN_ACCOUNT_RATE", default="30/hour"),
        "invitation": env.str("INVITATION_RATE", default="30/min"),
    },
    # DRF's own throttles (invitations) read the client address the same way as ours.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Potluck API",
    "DESCRIPTION": "Self-hosted AI chat portal for teams. See CONTRACT.md for the guarantees.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # `<id:…>` path parameters (core.ids.IdConverter): row ids.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Sent with every response by core.middleware.SecurityHeadersMiddleware (with X-Frame-Options
# DENY). style-src allows inline styles: KaTeX and Swagger UI set style attributes and a <style>
# block. Scripts never run inline. img-src keeps to this origin, so model output cannot make the
# browser fetch a URL (markdown images render as links anyway). connect-src 'self' covers the same
# origin's ws:/wss: (CSP level 3). Set CONTENT_SECURITY_POLICY to replace it whole.
CONTENT_SECURITY_POLICY: str = env.str(
    "CONTENT_SECURITY_POLICY",
    default="; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
)

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="potluck@localhost")

# --- Potluck ------------------------------------------------------------------------------------
# /v1 calls one API token may have in flight at once (per web process); past it: 429 rate_limited.
API_MAX_CONCURRENT_PER_TOKEN = env.int("API_MAX_CONCURRENT_PER_TOKEN", default=16)
# Chat generations one member may run at once (per web process), and messages per minute.
CHAT_MAX_CONCURRENT_GENERATIONS = env.int("CHAT_MAX_CONCURRENT_GENERATIONS", default=4)
CHAT_MESSAGES_PER_MINUTE = env.int("CHAT_MESSAGES_PER_MINUTE", default=30)
INVITATION_TTL_HOURS = env.int("INVITATION_TTL_HOURS", default=72)
# The address invitation links point at; by default the host the admin used.
PUBLIC_URL = env.str("PUBLIC_URL", default="")
# /metrics answers 404 until a token is set; the scraper sends `Authorization: Bearer <token>`.
METRICS_TOKEN: str = env_secret("METRICS_TOKEN") or ""

# Internal destinations (loopback, private, link-local, CGNAT, ...) provider calls may reach:
# host names, IP addresses or CIDR networks, comma-separated. Public addresses are always allowed.
# Checked on the resolved address when connecting (providers/wire/destinations.py).
PROVIDER_ALLOWED_NETWORKS: list[str] = env.list("PROVIDER_ALLOWED_NETWORKS", default=[])
try:
    from providers.wire.destinations import parse_allowed as _parse_allowed

    _parse_allowed(PROVIDER_ALLOWED_NETWORKS)
except ValueError as exc:
    raise ImproperlyConfigured(f"PROVIDER_ALLOWED_NETWORKS: {exc}") from exc

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "filters": {"redact_paths": {"()": "core.logging.RedactSecretPaths"}},
    "loggers": {
        "django.request": {"filters": ["redact_paths"]},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
    },
}
