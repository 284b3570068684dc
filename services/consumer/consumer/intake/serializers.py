"""The intake body (docs/pipeline.md): shape only; business rules run in the pipeline."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from bankflow.api import StrictFieldsMixin
from consumer.intake.models import TransactionType

MAX_ITEMS = 1000


class IntakeItemSerializer(StrictFieldsMixin, serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField(
        max_length=255, required=False, allow_blank=True, allow_null=True
    )
    type = serializers.ChoiceField(choices=TransactionType.choices)
    amount = serializers.DecimalField(max_digits=24, decimal_places=6)
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$", error_messages={"invalid": "Expected a three-letter currency code."}
    )
    source_account = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True
    )
    destination_account = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True
    )
    description = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, allow_null=True
    )
    created_at = serializers.DateTimeField(required=False, allow_null=True)
    client_id = serializers.UUIDField(required=False, allow_null=True)
    correlation_id = serializers.RegexField(
        r"^[A-Za-z0-9._:-]{1,128}$", required=False, allow_blank=True, allow_null=True
    )


def validate_intake(data: Any) -> list[dict[str, Any]]:
    """The validated items of a body holding one object or a list of 1-1000.

    Raises ValidationError: field errors for one object, ``{"<index>": {field: [...]}}``
    naming only the bad items of a list.
    """
    if isinstance(data, dict):
        single = IntakeItemSerializer(data=data)
        single.is_valid(raise_exception=True)
        return [dict(single.validated_data)]
    if not isinstance(data, list):
        raise serializers.ValidationError(
            {"non_field_errors": ["Expected a transaction object or a list of them."]}
        )
    if not 1 <= len(data) <= MAX_ITEMS:
        raise serializers.ValidationError(
            {"non_field_errors": [f"Expected 1 to {MAX_ITEMS} transactions, got {len(data)}."]}
        )
    many = IntakeItemSerializer(data=data, many=True)
    if not many.is_valid():
        # DRF gives a list with {} for good items, or (LIST_SERIALIZER_ERRORS_AS_DICT) a
        # dict of the bad ones; the wire wants {"<index>": {...}} for the bad ones only.
        errors: Any = many.errors
        indexed = errors.items() if isinstance(errors, dict) else enumerate(errors)
        raise serializers.ValidationError({str(i): e for i, e in indexed if e})
    return [dict(item) for item in many.validated_data]


class IntakeAnswerSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.UUIDField())
    duplicates = serializers.ListField(child=serializers.UUIDField())


class WebhookStateSerializer(serializers.Serializer):
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)


class TransactionDetailSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    result = serializers.JSONField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    webhook = WebhookStateSerializer(allow_null=True)


class AccountBalancesSerializer(serializers.Serializer):
    iban = serializers.CharField()
    balances = serializers.DictField(child=serializers.CharField())
