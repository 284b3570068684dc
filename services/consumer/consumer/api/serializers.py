"""The consumer API's answers, as the OpenAPI schema shows them (the intake body itself is
``bankflow.wire.IntakeItem``)."""

from __future__ import annotations

from rest_framework import serializers

from consumer.intake.models import EventKind


class IntakeAnswerSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.UUIDField())
    duplicates = serializers.ListField(child=serializers.UUIDField())


class WebhookStateSerializer(serializers.Serializer):
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)


class TransactionEventSerializer(serializers.Serializer):
    """One step of the transaction here, as the producer's events endpoint shows its own."""

    at = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=EventKind.choices)
    from_status = serializers.CharField(allow_null=True)
    to_status = serializers.CharField()
    detail = serializers.DictField()
    correlation_id = serializers.CharField()
    actor = serializers.CharField()


class TransactionDetailSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    result = serializers.JSONField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)
    webhook = WebhookStateSerializer(allow_null=True)
    events = TransactionEventSerializer(
        many=True,
        help_text="The transaction's steps here, oldest first: received, processing, "
        "decided (decision, risk_score, reasons, fee) or failed (reason), posted (ledger "
        "legs), each webhook attempt and redelivery.",
    )


class AccountBalancesSerializer(serializers.Serializer):
    iban = serializers.CharField()
    balances = serializers.DictField(child=serializers.CharField())


class ReconciliationQuerySerializer(serializers.Serializer):
    date = serializers.DateField(input_formats=["%Y-%m-%d"])
    created_before = serializers.DateTimeField(required=False)


class ReconciliationCurrencySerializer(serializers.Serializer):
    currency = serializers.CharField()
    count = serializers.IntegerField()
    amount_sum = serializers.CharField(help_text="Decimal string.")
    fee_sum = serializers.CharField(help_text="Decimal string.")
    ids = serializers.ListField(child=serializers.UUIDField())


class ReconciliationDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    created_before = serializers.DateTimeField(allow_null=True)
    currencies = ReconciliationCurrencySerializer(many=True)
