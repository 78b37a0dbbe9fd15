"""Production settings: every secret must be given, cookies are secure, nothing debug-only."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from server.env import env
from server.settings.base import *  # noqa: F403
from server.settings.base import FIELD_ENCRYPTION_KEY, SECRET_KEY

if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set to 50+ characters.")
if len(FIELD_ENCRYPTION_KEY) < 32:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY (or FIELD_ENCRYPTION_KEY_FILE) must be set to 32+ characters."
    )

DEBUG = False
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself; otherwise clients could spoof HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
