"""A rolling upgrade never breaks the other side: this producer against the previous
consumer's reader, and the previous consumer's messages against this producer.

``PreviousConsumerIntakeItem`` is the intake reader of the release before messages were
versioned (``consumer/intake/serializers.py``, which refused unknown fields), kept here as
the oldest peer a deployment may still run.
"""

from __future__ import annotations

import json

import pytest
from rest_framework import serializers

from bankflow import wire
from bankflow.api import StrictFieldsMixin
from producer.transactions.outbox import intake_item
from tests.factories import TransactionFactory
from tests.transactions.test_webhooks import deliver

pytestmark = pytest.mark.django_db


class PreviousConsumerIntakeItem(StrictFieldsMixin, serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField(
        max_length=255, required=False, allow_blank=True, allow_null=True
    )
    type = serializers.ChoiceField(choices=["transfer", "payment", "deposit", "withdrawal"])
    amount = serializers.DecimalField(max_digits=24, decimal_places=6)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$")
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


@pytest.mark.parametrize("kind", ["transfer", "deposit", "withdrawal"])
def test_the_previous_consumer_accepts_what_this_producer_dispatches(kind):
    accounts = {
        "transfer": {},
        "deposit": {"source_account": None},
        "withdrawal": {"destination_account": None},
    }[kind]
    tx = TransactionFactory(type=kind, correlation_id="req-1", **accounts)

    body = json.loads(wire.encode([intake_item(tx)]))

    reader = PreviousConsumerIntakeItem(data=body, many=True)
    assert reader.is_valid(), reader.errors


def test_a_results_message_of_the_previous_consumer_is_applied(api, client):
    # What the consumer sent before messages carried a version: no "version" key.
    tx = TransactionFactory(client=api.tenant)
    previous = {
        "type": "transaction.results",
        "results": [
            {
                "transaction_id": str(tx.id),
                "status": "processed",
                "correlation_id": "",
                "result": {"decision": "approved", "risk_score": 3, "reasons": [], "fee": "0.50",
                           "processed_at": "2026-11-21T10:00:01Z"},
            }
        ],
    }  # fmt: skip

    response = deliver(client, previous)

    assert response.status_code == 200, response.content
    tx.refresh_from_db()
    assert tx.status == "processed"


def test_a_results_message_of_a_later_version_is_refused_so_the_consumer_retries(client):
    response = deliver(client, {"type": "transaction.results", "version": 2, "results": []})

    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_version"
