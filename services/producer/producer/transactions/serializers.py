"""Input validation (field-level messages) and the one output shape of a transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bankflow import money, wire
from bankflow.api import StrictFieldsMixin
from bankflow.wire import TransactionType
from producer.transactions.models import EventKind, Status, Transaction, TransactionEvent

BULK_MAX_ITEMS = 1000
LIST_MAX_LIMIT = 500
LIST_DEFAULT_LIMIT = 50


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
    type = serializers.ChoiceField(choices=TransactionType.choices)
    amount = AmountField()
    currency = CurrencyField()
    source_account = IbanField(
        help_text="Required for transfer, payment and withdrawal; absent or null for a deposit."
    )
    destination_account = IbanField(
        help_text="Required for transfer, payment and deposit; absent or null for a "
        "withdrawal; differs from source_account."
    )
    description = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        try:
            attrs["amount"] = money.validate_amount(attrs["amount"], attrs["currency"])
        except ValueError as exc:
            errors["amount"] = [str(exc)]
        attrs.setdefault("source_account", None)
        attrs.setdefault("destination_account", None)
        errors.update(
            wire.account_errors(
                attrs["type"], attrs["source_account"], attrs["destination_account"]
            )
        )
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


class TransactionSerializer(serializers.ModelSerializer):
    """The transaction as the API shows it (docs/api.md).

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
            "amount": wire.amount_text(instance.amount, instance.currency),
            "currency": instance.currency,
            "source_account": instance.source_account,
            "destination_account": instance.destination_account,
            "description": instance.description,
            "status": instance.status,
            "result": instance.result,
            "failure_reason": instance.failure_reason or None,
            "created_at": wire.iso_datetime(instance.created_at),
            "updated_at": wire.iso_datetime(instance.updated_at),
        }


class TransactionEventSerializer(serializers.Serializer):
    """One event of a transaction's audit trail (``GET /transactions/{id}/events/``)."""

    at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=EventKind.choices, source="kind")
    from_status = serializers.ChoiceField(choices=Status.choices, allow_null=True)
    to_status = serializers.ChoiceField(choices=Status.choices)
    detail = serializers.DictField(
        help_text="What the change was: e.g. `attempt` and `batch` for a dispatch, "
        "`fields` for an update, `reason` for a failure, `decision` for a result."
    )
    correlation_id = serializers.CharField()
    actor = serializers.CharField(
        help_text="Who asked, for an action someone took: `client:<id>`, "
        "`staff:<username>`, `command:<name>`; empty for the system's own steps."
    )

    def to_representation(self, instance: TransactionEvent) -> dict[str, Any]:
        return {
            "at": wire.iso_datetime(instance.at),
            "type": instance.kind,
            "from_status": instance.from_status,
            "to_status": instance.to_status,
            "detail": instance.detail,
            "correlation_id": instance.correlation_id,
            "actor": instance.actor,
        }


class EventListQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=LIST_MAX_LIMIT, default=LIST_DEFAULT_LIMIT
    )


class TransactionFilterSerializer(serializers.Serializer):
    """Query parameters of the list; bad values answer 400 naming the parameter."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    type = serializers.ChoiceField(choices=TransactionType.choices, required=False)
    currency = CurrencyField(required=False)
    account = IbanField(allow_null=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=LIST_MAX_LIMIT, default=LIST_DEFAULT_LIMIT
    )
