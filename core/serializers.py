"""Serializer building blocks shared by every app."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer[Any]):
    """A serializer that refuses fields it does not know, so typos never pass silently."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
        validated: dict[str, Any] = super().validate(attrs)
        return validated


class MoneyField(serializers.DecimalField):
    """USD as a decimal string. A JSON number is refused: floats cannot carry money exactly."""

    default_error_messages = {
        "not_a_string": 'Send money as a decimal string, e.g. "0.15", not a JSON number.',
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 20)
        kwargs.setdefault("decimal_places", 9)
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)
