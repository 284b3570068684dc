"""Input validation (field-level messages) and the one output shape of a transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bankflow import money
from bankflow.api import StrictFieldsMixin
from producer.transactions.models import Status, Transaction, Type

BULK_MAX_ITEMS = 1000
LIST_MAX_LIMIT = 500
LIST_DEFAULT_LIMIT = 50

NEEDS_SOURCE = {Type.TRANSFER, Type.PAYMENT, Type.WITHDRAWAL}
NEEDS_DESTINATION = {Type.TRANSFER, Type.PAYMENT, Type.DEPOSIT}


@extend_schema_field(
    {"type": "string", "format": "decimal", "example": "125.50", "pattern": r"^\d+(\.\d+)?$"}
)
class AmountField(serializers.Field):
    """A decimal string (a JSON number is accepted too); never a float."""

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return money.parse_amount(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: Decimal) -> str:
        return f"{value:f}"


@extend_schema_field({"type": "string", "example": "EUR", "pattern": "^[A-Z]{3}$"})
class CurrencyField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        try:
            return money.normalize_currency(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


@extend_schema_field({"type": "string", "nullable": True, "example": "DE89 3704 0044 0532 0130 00"})
class IbanField(serializers.CharField):
    """An IBAN with valid check digits, spaces and lower case accepted, stored compact."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("max_length", 64)  # with spaces; the compact form is at most 34
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return money.normalize_iban(super().to_internal_value(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class TransactionInputSerializer(StrictFieldsMixin, serializers.Serializer):
    reference = serializers.CharField(max_length=128)
    type = serializers.ChoiceField(choices=Type.choices)
    amount = AmountField()
    currency = CurrencyField()
    source_account = IbanField()
    destination_account = IbanField()
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        try:
            attrs["amount"] = money.validate_amount(attrs["amount"], attrs["currency"])
        except ValueError as exc:
            errors["amount"] = [str(exc)]
        kind = attrs["type"]
        for field, needed in (
            ("source_account", kind in NEEDS_SOURCE),
            ("destination_account", kind in NEEDS_DESTINATION),
        ):
            present = attrs.get(field) is not None
            if needed and not present:
                errors[field] = [f"This field is required for a {kind}."]
            elif present and not needed:
                errors[field] = [f"Must be absent or null for a {kind}."]
            attrs.setdefault(field, None)
        source, destination = attrs["source_account"], attrs["destination_account"]
        if source is not None and source == destination:
            errors.setdefault("destination_account", []).append("Must differ from source_account.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TransactionBulkInputSerializer(serializers.ListSerializer):
    """A list of 1-1000 items; errors are keyed by item index, only for the bad items."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("child", TransactionInputSerializer())
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", BULK_MAX_ITEMS)
        kwargs.setdefault("allow_empty", False)
        super().__init__(*args, **kwargs)

    def indexed_errors(self) -> Any:
        errors = self.errors
        if isinstance(errors, list):
            return {str(index): error for index, error in enumerate(errors) if error}
        return errors


class TransactionUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    reference = serializers.CharField(max_length=128, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": ["Send reference and/or description."]}
            )
        return attrs


def iso_datetime(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def amount_text(amount: Decimal, currency: str) -> str:
    """The stored amount with exactly the currency's minor units ("125.50", "100", "1.250")."""
    return f"{money.round_money(amount, currency):f}"


class TransactionSerializer(serializers.ModelSerializer):
    """The transaction as the API shows it (CONTRACT.md).

    The fields document the schema; ``to_representation`` builds the dict directly because
    a bulk answer renders up to 1000 of them and DRF's per-field machinery is the slow part.
    """

    amount = serializers.CharField(help_text="Decimal string with the currency's minor units.")
    failure_reason = serializers.CharField(allow_null=True)
    result = serializers.JSONField(allow_null=True)

    class Meta:
        model = Transaction
        fields = [
            "id",
            "reference",
            "type",
            "amount",
            "currency",
            "source_account",
            "destination_account",
            "description",
            "status",
            "result",
            "failure_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Transaction) -> dict[str, Any]:
        return {
            "id": str(instance.id),
            "reference": instance.reference,
            "type": instance.type,
            "amount": amount_text(instance.amount, instance.currency),
            "currency": instance.currency,
            "source_account": instance.source_account,
            "destination_account": instance.destination_account,
            "description": instance.description,
            "status": instance.status,
            "result": instance.result,
            "failure_reason": instance.failure_reason or None,
            "created_at": iso_datetime(instance.created_at),
            "updated_at": iso_datetime(instance.updated_at),
        }


class TransactionFilterSerializer(serializers.Serializer):
    """Query parameters of the list; bad values answer 400 naming the parameter."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    type = serializers.ChoiceField(choices=Type.choices, required=False)
    currency = CurrencyField(required=False)
    account = IbanField(allow_null=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=LIST_MAX_LIMIT, default=LIST_DEFAULT_LIMIT
    )


class ResultField(serializers.JSONField):
    """The consumer's result object; checked for shape, stored as sent."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object.")
        body = ResultBodySerializer(data=data)
        body.is_valid(raise_exception=True)
        return data


class ResultBodySerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approved", "declined", "review"])
    risk_score = serializers.IntegerField(min_value=0, max_value=100)
    reasons = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    fee = serializers.DecimalField(max_digits=18, decimal_places=3, required=False)
    processed_at = serializers.DateTimeField(required=False)


class WebhookResultSerializer(serializers.Serializer):
    transaction_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[Status.PROCESSED, Status.FAILED])
    result = ResultField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    correlation_id = serializers.CharField(required=False, allow_blank=True, max_length=128)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["status"] == Status.PROCESSED and not attrs.get("result"):
            raise serializers.ValidationError({"result": ["Required for a processed result."]})
        return attrs


class WebhookPayloadSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["transaction.results"])
    results = serializers.ListField(
        child=WebhookResultSerializer(), min_length=1, max_length=BULK_MAX_ITEMS
    )
