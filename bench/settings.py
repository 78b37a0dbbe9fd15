"""Settings of the Potluck under benchmark: the local settings with the per-user chat limits
raised (many streams at once must not be refused) and a fast password hasher (hundreds of HTTP
logins before the measurement should not take minutes). Nothing measured depends on either."""

from __future__ import annotations

from server.settings.local import *  # noqa: F403

CHAT_MAX_CONCURRENT_GENERATIONS = 100_000
CHAT_MESSAGES_PER_MINUTE = 1_000_000
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
