"""REST for personal API tokens (CONTRACT "OpenAI-compatible API"): list, create, revoke."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgMember
from core.serializers import MoneyField, StrictSerializer
from gateway.models import ApiToken
from gateway.token_services import (
    connect_invalidation_signals,
    token_create,
    token_get_for_user,
    token_list_for_user,
    token_revoke,
)

connect_invalidation_signals()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def token_output(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "last4": token.last4,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "max_budget_usd": _money(token.max_budget_usd),
        "models": list(token.allowed_models or []),
        "user": {"id": token.user_id, "email": token.user.email, "name": token.user.name},
    }


class TokenListApi(APIView):
    permission_classes = [IsOrgMember]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        max_budget_usd = MoneyField(required=False, allow_null=True, min_value=Decimal(0))
        models = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, max_length=200
        )

    def get(self, request: Request) -> Response:
        tokens = token_list_for_user(user=request.user)  # type: ignore[arg-type]
        return Response([token_output(t) for t in tokens])

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = token_create(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        body = token_output(created.token) | {"token": created.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailApi(APIView):
    permission_classes = [IsOrgMember]

    def delete(self, request: Request, token_id: int) -> Response:
        token = token_get_for_user(user=request.user, token_id=token_id)  # type: ignore[arg-type]
        token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
