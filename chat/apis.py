"""REST for conversations and messages (CONTRACT "Conversations and messages")."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils.text import slugify
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgMember
from chat import services
from chat.access import conversation_get_for_update, conversation_get_for_user
from chat.models import Conversation, Message
from chat.selectors import active_branch, conversation_list_for_user, message_list
from chat.serializers import (
    ConversationCreateInput,
    ConversationListInput,
    ConversationUpdateInput,
    ExportInput,
    conversation_payload,
    message_payload,
)
from core.parsers import JSONRenderer


class ConversationListApi(APIView):
    permission_classes = [IsOrgMember]

    def get(self, request: Request) -> Response:
        params = ConversationListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        conversations = conversation_list_for_user(
            user=request.user,
            q=params.validated_data.get("q") or None,
            archived=params.validated_data.get("archived"),
        )
        return Response([conversation_payload(c) for c in conversations])

    def post(self, request: Request) -> Response:
        data = ConversationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_create(user=request.user, **data.validated_data)
        return Response(conversation_payload(conversation), status=status.HTTP_201_CREATED)


class ConversationDetailApi(APIView):
    permission_classes = [IsOrgMember]

    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
        return Response(conversation_payload(conversation))

    def patch(self, request: Request, conversation_id: int) -> Response:
        data = ConversationUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            conversation = conversation_get_for_update(
                user=request.user, conversation_id=conversation_id
            )
            conversation = services.conversation_update(
                conversation=conversation, **data.validated_data
            )
        return Response(conversation_payload(conversation))

    def delete(self, request: Request, conversation_id: int) -> Response:
        conversation = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
        services.conversation_delete(conversation=conversation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationMessagesApi(APIView):
    permission_classes = [IsOrgMember]

    def get(self, request: Request, conversation_id: int) -> Response:
        conversation = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
        return Response([message_payload(m) for m in message_list(conversation=conversation)])


class _IgnoreFormatNegotiation(BaseContentNegotiation):
    """`?format=` names the export's file format here, not a DRF renderer: always answer JSON
    (for errors) and let the view build the file itself."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


def _markdown(conversation: Conversation, branch: list[Message]) -> str:
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    if conversation.system_prompt:
        lines += ["> System prompt:", ""]
        lines += [f"> {line}" for line in conversation.system_prompt.splitlines()]
        lines.append("")
    for message in branch:
        who = "User" if message.role == "user" else f"Assistant ({message.model or 'unknown'})"
        suffix = "" if message.status == "complete" else f" [{message.status}]"
        lines += [f"## {who}{suffix}", "", message.content, ""]
    return "\n".join(lines)


class ConversationExportApi(APIView):
    permission_classes = [IsOrgMember]
    content_negotiation_class = _IgnoreFormatNegotiation
    renderer_classes = [JSONRenderer]

    def get(self, request: Request, conversation_id: int) -> HttpResponse:
        params = ExportInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        conversation = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
        stem = slugify(conversation.title)[:60] or f"conversation-{conversation.pk}"
        if params.validated_data["format"] == "json":
            # The whole tree: every branch, as the messages endpoint returns it.
            body = json.dumps(
                {
                    "conversation": conversation_payload(conversation),
                    "messages": [
                        message_payload(m) for m in message_list(conversation=conversation)
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
            response = HttpResponse(body, content_type="application/json; charset=utf-8")
            filename = f"{stem}.json"
        else:
            # The active branch: what the user reads in the conversation view.
            body = _markdown(conversation, active_branch(conversation=conversation))
            response = HttpResponse(body, content_type="text/markdown; charset=utf-8")
            filename = f"{stem}.md"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
