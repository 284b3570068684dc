"""The consumer API's answers, as the OpenAPI schema shows them (the intake body itself is
``bankflow.wire.IntakeItem``)."""

from __future__ import annotations

from rest_framework import serializers


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
