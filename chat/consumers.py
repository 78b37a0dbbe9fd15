"""The chat WebSocket (`/ws/chat/`). Frames are specified in CONTRACT.md "WebSocket chat".

Each handler parses its frame with a DRF serializer, resolves access through `chat.access` (inside
the services, via `database_sync_to_async`), calls one service, and only then joins the
conversation's group or starts a generation. A refused frame gets an `error` frame echoing its
`client_id`; the socket stays open. Generations are started as registered tasks and never
awaited here: closing the socket does not stop them (CONTRACT: "A generation goes on when the
socket closes").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import APIException

from accounts.access import membership_get
from accounts.socket_access import (
    CLOSE_ACCESS_REVOKED,
    SocketAccessRevokedError,
    session_tag,
    socket_member_check,
)
from chat import generation, services
from chat.events import error_frame, group_name
from chat.registry import registry
from chat.serializers import (
    ConversationSubscribeFrame,
    GenerationStopFrame,
    MessageRegenerateFrame,
    MessageSendFrame,
)
from core.exceptions import ApplicationError, outage_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

CLOSE_NOT_AUTHENTICATED = 4401
# Group events this consumer only forwards (see `ChatConsumer.dispatch`).
_FORWARDED = frozenset(
    {
        "conversation.created",
        "conversation.updated",
        "conversation.deleted",
        "message.created",
        "message.delta",
        "message.completed",
        "message.failed",
        "budget.updated",
        "budget.warning",
    }
)


def _membership_load(user: Any) -> None:
    """Resolve the member and their organisation once, at connect: the frames' services read
    both from the session's user object, so its first `message.send` needs no query for them."""
    _ = membership_get(user=user).organization


def _max_concurrent() -> int:
    return int(settings.CHAT_MAX_CONCURRENT_GENERATIONS)


class ChatConsumer(AsyncJsonWebsocketConsumer):
    user_id: int

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse_session()
            return
        try:
            await database_sync_to_async(_membership_load)(user=user)
        except (ApplicationError, APIException):
            await self._refuse_session()
            return
        self.user_id = user.pk
        self.joined: set[str] = set()
        await self._join(group_name("user", user.pk))
        await self.accept()

    async def _refuse_session(self) -> None:
        """Accept, then close with 4401 (CONTRACT): a close before accept is an HTTP 403 at the
        handshake, which a browser reports as a bare failure without the code, so the SPA could
        not tell "log in again" from "the server is down". A bad Origin is still refused at the
        handshake (AllowedHostsOriginValidator)."""
        await self.accept()
        await self.close(code=CLOSE_NOT_AUTHENTICATED)

    async def disconnect(self, code: int) -> None:
        # Leave the groups only: generations this socket started go on and are stored as usual.
        for group in getattr(self, "joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.add(group)

    # --- inbound ---------------------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Decode here rather than in the base class, so a frame that is not JSON gets an
        `error` frame instead of an exception that would close the socket."""
        if text_data is None:
            await self.send_json(
                error_frame(code="validation_error", message="Frames must be JSON text.")
            )
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # RecursionError: `[[[[…]]]]` nested too deeply
            await self.send_json(
                error_frame(code="validation_error", message="The frame is not valid JSON.")
            )
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json(
                error_frame(code="validation_error", message="A frame is a JSON object.")
            )
            return
        client_id = content.get("client_id")
        client_id = client_id if isinstance(client_id, str) else None
        try:
            match content.get("type"):
                case "message.send":
                    await self._handle_message_send(content)
                case "message.regenerate":
                    await self._handle_message_regenerate(content)
                case "generation.stop":
                    await self._handle_generation_stop(content)
                case "conversation.subscribe":
                    await self._handle_conversation_subscribe(content)
                case _:
                    raise ApplicationError("Unknown frame type.", code="validation_error")
        except SocketAccessRevokedError:
            await self.close(code=CLOSE_ACCESS_REVOKED)
        except ApplicationError as exc:
            await self._refuse(exc.code, exc.message, client_id, exc.detail)
        except APIException as exc:
            await self._refuse("not_authenticated", str(exc.detail), client_id, None)
        except Exception as exc:
            # The database or Redis down: the frame's service stored nothing (its transaction
            # rolled back, or the rate check before it failed) and started no generation.
            outage = outage_error(exc)
            if outage is None:
                logger.exception("chat frame %r failed", content.get("type"))
                await self._refuse(
                    "internal_error", "The frame could not be handled.", client_id, None
                )
                return
            logger.warning("chat frame %r refused, %s is down", content.get("type"), outage.service)
            await self._refuse(outage.code, outage.message, client_id, outage.detail)

    async def _refuse(
        self, code: str, message: str, client_id: str | None, detail: dict[str, Any] | None
    ) -> None:
        await self.send_json(
            error_frame(code=code, message=message, client_id=client_id, detail=detail)
        )

    @staticmethod
    def _parse(
        serializer_class: type[serializers.Serializer[Any]], content: dict[str, Any]
    ) -> dict[str, Any]:
        frame = serializer_class(data=content)
        if not frame.is_valid():
            fields = dict(frame.errors)
            name = next(iter(fields), "frame")
            raise ApplicationError(
                f"{name}: {fields[name][0] if fields[name] else 'invalid'}",
                code="validation_error",
                detail={"fields": fields},
            )
        return dict(frame.validated_data)

    def _limited(self, service: Callable[..., T]) -> Callable[..., Awaitable[T]]:
        """`service` behind the per-user limits: concurrent generations checked here (the
        registry belongs to the loop), the message rate in the ORM thread in the same hop as the
        service (each hop to that shared thread is on the way to the first token)."""
        if registry.count_for_user(self.user_id, kind="chat") >= _max_concurrent():
            raise ApplicationError(
                "Too many answers are being generated at once; wait for one to finish.",
                code="rate_limited",
                status=429,
            )
        user_id = self.user_id
        session_key = self._session_key()

        def call(**kwargs: Any) -> T:
            # The user seen at connect may since have been deactivated or logged out.
            socket_member_check(user_id=user_id, session_key=session_key)
            services.chat_rate_check(user_id=user_id)
            return service(**kwargs)

        return database_sync_to_async(call)

    async def _start(self, start: generation.ReplyStart) -> None:
        """Start the answer at once. Its deltas reach this socket through the owner's user group,
        joined at connect; the conversation's group is joined too, for frames addressed to it."""
        prepared = start.prepared
        _ = generation.start_chat_reply(prepared, admitted=start.admitted)
        try:
            await self._join(group_name("conversation", prepared.conversation_id))
        except Exception as exc:
            # Redis went down after the send was stored and its answer started: refusing the
            # frame now would contradict that. The answer's frames go to the user's group too.
            if outage_error(exc) is None:
                raise
            logger.warning("conversation group not joined: %s", exc)

    async def _handle_message_send(self, content: dict[str, Any]) -> None:
        data = self._parse(MessageSendFrame, content)
        start = await self._limited(generation.chat_reply_send)(
            user=self.scope["user"],
            conversation_id=data["conversation_id"],
            parent_id=data.get("parent_id", services.UNSET),
            content=data["content"],
            model=data["model"],
            client_id=data.get("client_id"),
            max_tokens=data.get("max_tokens"),
            temperature=data.get("temperature"),
        )
        await self._start(start)

    async def _handle_message_regenerate(self, content: dict[str, Any]) -> None:
        data = self._parse(MessageRegenerateFrame, content)
        start = await self._limited(generation.chat_reply_regenerate)(
            user=self.scope["user"],
            message_id=data["message_id"],
            model=data.get("model"),
            client_id=data.get("client_id"),
            max_tokens=data.get("max_tokens"),
            temperature=data.get("temperature"),
        )
        await self._start(start)

    async def _handle_generation_stop(self, content: dict[str, Any]) -> None:
        data = self._parse(GenerationStopFrame, content)
        # Access first: another user's message id answers not_found like any unknown id.
        await database_sync_to_async(services.message_for_user)(
            user=self.scope["user"], message_id=data["message_id"]
        )
        # A generation that already ended (or runs in another process) has nothing to stop.
        generation.stop_generation(message_id=data["message_id"])

    async def _handle_conversation_subscribe(self, content: dict[str, Any]) -> None:
        data = self._parse(ConversationSubscribeFrame, content)
        conversation = await database_sync_to_async(services.conversation_for_user)(
            user=self.scope["user"], conversation_id=data["conversation_id"]
        )
        await self._join(group_name("conversation", conversation.pk))

    # --- outbound: group events are frames, forwarded as they are ---------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Forward group events without the base class's `aclose_old_connections()`.

        Channels runs that before every handler, through the one shared thread-sensitive worker
        thread, so each `message.delta` of every socket would wait behind all the ORM work of the
        process (measured with bench/chat_streams.py: seconds of delay at 200 streams). The
        forwarding handlers touch no database, and every ORM call of this consumer goes through
        `database_sync_to_async`, which closes stale connections itself.
        """
        if message.get("type") in _FORWARDED:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def _forward(self, event: dict[str, Any]) -> None:
        await self.send_json(event)

    async def conversation_created(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def conversation_updated(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def conversation_deleted(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def message_created(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def message_delta(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def message_completed(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def message_failed(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def budget_updated(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    async def budget_warning(self, event: dict[str, Any]) -> None:
        await self._forward(event)

    # --- access revoked (accounts.socket_access.user_sockets_close) ------------------------------

    def _session_key(self) -> str | None:
        session = self.scope.get("session")
        return getattr(session, "session_key", None)

    async def session_revoked(self, event: dict[str, Any]) -> None:
        """Logout (this session only), deactivation or a role change (every socket): close."""
        target = event.get("session")
        if target is None or target == session_tag(self._session_key()):
            await self.close(code=CLOSE_ACCESS_REVOKED)
