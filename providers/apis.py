"""REST endpoints for provider keys (admin) and models (members read, admins write).

Thin by design (STYLE rule 1): parse, resolve access, call one service, serialise. No response
here ever carries a key: the output serializer has no field that could hold one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import membership_require_admin
from accounts.permissions import IsOrgAdmin, IsOrgMember
from core.exceptions import ApplicationError
from core.serializers import MoneyField, StrictSerializer
from providers.access import (
    aimodel_get_for_admin,
    provider_key_get_for_admin,
    provider_key_get_in_org,
)
from providers.models import AIModel, Provider
from providers.selectors import aimodel_list_for_user, provider_key_list
from providers.services import (
    aimodel_create,
    aimodel_delete,
    aimodel_update,
    provider_key_create,
    provider_key_delete,
    provider_key_test,
    provider_key_update,
)

TRUTHY = frozenset({"1", "true", "yes"})


def money_str(value: Decimal | None) -> str | None:
    """A decimal string without trailing zeros and never in exponent form ("0.15", "10")."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of stringifying them."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"not_a_boolean": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("not_a_boolean")
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"not_an_integer": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer")
        return int(super().to_internal_value(data))


def _price_field(**kwargs: Any) -> MoneyField:
    return MoneyField(required=False, min_value=Decimal(0), **kwargs)


class ProviderKeyOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # shadows Field.label (stubs)
    base_url = serializers.CharField()
    masked_key = serializers.CharField()
    created_at = serializers.DateTimeField()
    rotated_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()


class AIModelOutput(serializers.Serializer[Any]):
    id = serializers.CharField(source="model_id")
    provider = serializers.CharField()
    provider_key = serializers.IntegerField(source="provider_key_id")
    name = serializers.CharField()
    input_usd_per_mtok = serializers.SerializerMethodField()
    output_usd_per_mtok = serializers.SerializerMethodField()
    cached_input_usd_per_mtok = serializers.SerializerMethodField()
    cache_write_usd_per_mtok = serializers.SerializerMethodField()
    max_output_tokens = serializers.IntegerField()
    enabled = serializers.BooleanField()

    def get_input_usd_per_mtok(self, obj: AIModel) -> str | None:
        return money_str(obj.input_usd_per_mtok)

    def get_output_usd_per_mtok(self, obj: AIModel) -> str | None:
        return money_str(obj.output_usd_per_mtok)

    def get_cached_input_usd_per_mtok(self, obj: AIModel) -> str | None:
        return money_str(obj.cached_input_usd_per_mtok)

    def get_cache_write_usd_per_mtok(self, obj: AIModel) -> str | None:
        return money_str(obj.cache_write_usd_per_mtok)


class ProviderKeyListCreateApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsOrgAdmin]

    class InputSerializer(StrictSerializer):
        provider = serializers.ChoiceField(choices=Provider.choices)
        label = StrictCharField(max_length=100)  # type: ignore[assignment]
        api_key = StrictCharField(
            max_length=4096, required=False, allow_blank=True, write_only=True
        )
        base_url = StrictCharField(max_length=500, required=False, allow_blank=True)

    def get(self, request: Request) -> Response:
        org = membership_require_admin(user=request.user).organization
        keys = provider_key_list(org=org)
        return Response(ProviderKeyOutput(keys, many=True).data)

    def post(self, request: Request) -> Response:
        org = membership_require_admin(user=request.user).organization
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = provider_key_create(
            org=org,
            actor=request.user,
            provider=data.validated_data["provider"],
            label=data.validated_data["label"],
            api_key=data.validated_data.get("api_key", ""),
            base_url=data.validated_data.get("base_url", ""),
        )
        return Response(ProviderKeyOutput(key).data, status=status.HTTP_201_CREATED)


class ProviderKeyDetailApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsOrgAdmin]

    class InputSerializer(StrictSerializer):
        label = StrictCharField(max_length=100, required=False)  # type: ignore[assignment]
        api_key = StrictCharField(
            max_length=4096, required=False, allow_blank=True, write_only=True
        )
        base_url = StrictCharField(max_length=500, required=False, allow_blank=True)

    def get(self, request: Request, provider_key_id: int) -> Response:
        key = provider_key_get_for_admin(user=request.user, provider_key_id=provider_key_id)
        return Response(ProviderKeyOutput(key).data)

    def patch(self, request: Request, provider_key_id: int) -> Response:
        key = provider_key_get_for_admin(user=request.user, provider_key_id=provider_key_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = provider_key_update(provider_key=key, actor=request.user, **data.validated_data)
        return Response(ProviderKeyOutput(key).data)

    def delete(self, request: Request, provider_key_id: int) -> Response:
        key = provider_key_get_for_admin(user=request.user, provider_key_id=provider_key_id)
        provider_key_delete(provider_key=key, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProviderKeyTestApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsOrgAdmin]

    def post(self, request: Request, provider_key_id: int) -> Response:
        key = provider_key_get_for_admin(user=request.user, provider_key_id=provider_key_id)
        result = provider_key_test(provider_key=key)
        body: dict[str, Any] = {
            "ok": result["ok"],
            "models": [
                {
                    "name": m["name"],
                    "input_usd_per_mtok": money_str(m["input_usd_per_mtok"]),
                    "output_usd_per_mtok": money_str(m["output_usd_per_mtok"]),
                    "cached_input_usd_per_mtok": money_str(m["cached_input_usd_per_mtok"]),
                }
                for m in result["models"]
            ],
        }
        if "error" in result:
            body["error"] = result["error"]
        return Response(body)


class AIModelListCreateApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsOrgMember]

    class InputSerializer(StrictSerializer):
        provider_key = StrictIntegerField(min_value=1)
        name = StrictCharField(max_length=200)
        id = StrictCharField(max_length=200, required=False)
        input_usd_per_mtok = _price_field()
        output_usd_per_mtok = _price_field()
        cached_input_usd_per_mtok = _price_field(allow_null=True)
        cache_write_usd_per_mtok = _price_field(allow_null=True)
        max_output_tokens = StrictIntegerField(min_value=1, required=False, allow_null=True)
        enabled = StrictBooleanField(required=False)

    def get(self, request: Request) -> Response:
        include_disabled = request.query_params.get("all", "").lower() in TRUTHY
        models = aimodel_list_for_user(user=request.user, include_disabled=include_disabled)
        return Response(AIModelOutput(models, many=True).data)

    def post(self, request: Request) -> Response:
        org = membership_require_admin(user=request.user).organization
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            key = provider_key_get_in_org(org=org, provider_key_id=values.pop("provider_key"))
        except ApplicationError as exc:
            raise serializers.ValidationError({"provider_key": ["No such provider key."]}) from exc
        ai_model = aimodel_create(
            org=org,
            actor=request.user,
            provider_key=key,
            model_id=values.pop("id", None),
            **values,
        )
        return Response(AIModelOutput(ai_model).data, status=status.HTTP_201_CREATED)


class AIModelDetailApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsOrgMember]

    class InputSerializer(StrictSerializer):
        provider_key = StrictIntegerField(min_value=1, required=False)
        name = StrictCharField(max_length=200, required=False)
        input_usd_per_mtok = _price_field()
        output_usd_per_mtok = _price_field()
        cached_input_usd_per_mtok = _price_field(allow_null=True)
        cache_write_usd_per_mtok = _price_field(allow_null=True)
        max_output_tokens = StrictIntegerField(min_value=1, required=False, allow_null=True)
        enabled = StrictBooleanField(required=False)

    def get(self, request: Request, model_id: str) -> Response:
        ai_model = aimodel_get_for_admin(user=request.user, model_id=model_id)
        return Response(AIModelOutput(ai_model).data)

    def patch(self, request: Request, model_id: str) -> Response:
        ai_model = aimodel_get_for_admin(user=request.user, model_id=model_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "provider_key" in changes:
            try:
                changes["provider_key"] = provider_key_get_in_org(
                    org=ai_model.organization, provider_key_id=changes["provider_key"]
                )
            except ApplicationError as exc:
                raise serializers.ValidationError(
                    {"provider_key": ["No such provider key."]}
                ) from exc
        ai_model = aimodel_update(ai_model=ai_model, actor=request.user, **changes)
        return Response(AIModelOutput(ai_model).data)

    def delete(self, request: Request, model_id: str) -> Response:
        ai_model = aimodel_get_for_admin(user=request.user, model_id=model_id)
        aimodel_delete(ai_model=ai_model, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
