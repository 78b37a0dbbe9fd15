"""Who may keep a chat socket: the member it was opened for, while active, in their organisation,
and logged in with the session it was opened with.

A socket outlives the request that authenticated it, so two things keep it honest (issue 13):
the consumer re-checks the member in the database before every frame that costs money
(`socket_member_check`), and logout, deactivation and role changes close the user's sockets at
once (`user_sockets_close`, a `session.revoked` event to the user's group).
"""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from accounts.models import Membership
from core import realtime
from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)

CLOSE_ACCESS_REVOKED = 4401  # the code of an unauthenticated socket: the client logs in again


class SocketAccessRevokedError(ApplicationError):
    """The socket's user may no longer act: the consumer closes the socket."""

    def __init__(self) -> None:
        super().__init__(
            "Your session has ended; log in again.", code="not_authenticated", status=401
        )


class SessionRevokedEvent(TypedDict):
    type: str  # "session.revoked"
    session: str | None  # a session_tag, or None for every socket of the user


def session_tag(session_key: str | None) -> str:
    """A short one-way tag of a session key: the channel layer never carries the key itself."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def socket_member_check(*, user_id: int, session_key: str | None) -> None:
    """Raise SocketAccessRevokedError unless the user is an active member and `session_key` is
    still their live session (not logged out, not expired). Two small queries; called in the
    ORM thread before each money-costing frame."""
    active = Membership.objects.filter(user_id=user_id, user__is_active=True).exists()
    if not active or not session_key:
        raise SocketAccessRevokedError
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    if str(store.get(SESSION_KEY, "")) != str(user_id):
        raise SocketAccessRevokedError


def user_sockets_close(*, user_id: int, session_key: str | None = None) -> None:
    """Close the user's chat sockets: those of one session (logout), or all (deactivation,
    role change). Best effort: a socket that misses it fails its next money-costing frame."""
    layer = get_channel_layer()
    if layer is None:
        return
    event: SessionRevokedEvent = {
        "type": "session.revoked",
        "session": session_tag(session_key) if session_key else None,
    }
    try:
        async_to_sync(layer.group_send)(realtime.user_group(user_id), dict(event))
    except Exception:
        logger.warning("Could not close the sockets of user %s", user_id, exc_info=True)
