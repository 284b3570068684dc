"""A rolling upgrade never breaks the other side: this consumer against the previous
producer's webhook reader, and the previous producer's intake bodies against this consumer.

``PreviousProducerResults`` is the results reader of the release before messages were
versioned (``producer/transactions/serializers.py``), kept here as the oldest peer a
deployment may still run.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from rest_framework import serializers

from bankflow import wire
from consumer.intake.models import ReceivedTransaction
from consumer.processing.services import transactions_process
from consumer.webhooks.models import WebhookMessage
from tests.factories import DE, FR, ReceivedTransactionFactory

pytestmark = pytest.mark.django_db


class PreviousResultBody(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approved", "declined", "review"])
    risk_score = serializers.IntegerField(min_value=0, max_value=100)
    reasons = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    fee = serializers.DecimalField(max_digits=18, decimal_places=3, required=False)
    processed_at = serializers.DateTimeField(required=False)


class PreviousResultField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected an object.")
        PreviousResultBody(data=data).is_valid(raise_exception=True)
        return data


class PreviousResult(serializers.Serializer):
    transaction_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["processed", "failed"])
    result = PreviousResultField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    correlation_id = serializers.CharField(required=False, allow_blank=True, max_length=128)


class PreviousProducerResults(serializers.Serializer):
    type = serializers.ChoiceField(choices=["transaction.results"])
    results = serializers.ListField(child=PreviousResult(), min_length=1, max_length=1000)


def test_the_previous_producer_accepts_the_results_this_consumer_sends():
    good = ReceivedTransactionFactory()
    bad = ReceivedTransactionFactory(currency="XXY")
    transactions_process(transaction_ids=[good.id, bad.id])

    (message,) = WebhookMessage.objects.all()
    sent = json.loads(wire.encode(message.payload))  # the bytes that go on the wire

    reader = PreviousProducerResults(data=sent)
    assert reader.is_valid(), reader.errors
    assert {r["status"] for r in reader.validated_data["results"]} == {"processed", "failed"}


def test_an_intake_body_of_the_previous_producer_is_stored(api):
    # What the producer sent before the version header existed: no header, same fields.
    body = [
        {
            "id": str(uuid.uuid4()), "reference": "INV-1", "type": "transfer", "amount": "12.50",
            "currency": "EUR", "source_account": DE, "destination_account": FR,
            "description": "", "created_at": "2026-11-21T10:00:00Z",
            "client_id": str(uuid.uuid4()), "correlation_id": "req-9",
        }
    ]  # fmt: skip

    response = api.post("/api/v1/transactions/", body, format="json")

    assert response.status_code == 202, response.content
    assert ReceivedTransaction.objects.filter(id=body[0]["id"]).exists()


def test_an_intake_of_a_later_version_is_refused_so_the_producer_retries(api):
    response = api.post("/api/v1/transactions/", [], format="json", HTTP_BANKFLOW_WIRE_VERSION="2")

    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_version"
