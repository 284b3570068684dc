"""The producer's half of the pipeline with a real Celery worker on the real broker."""

import time

import pytest
import responses
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from producer.celery import app
from producer.transactions.models import OutboxMessage, OutboxState, Status, Transaction
from tests.conftest import INTAKE_URL
from tests.factories import transfer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("amqp"),
        reason="needs RabbitMQ (run through scripts.testenv)",
    ),
]


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_created_transaction_is_dispatched_by_a_real_worker(api):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as consumer:
        # Given a consumer that accepts and a worker on the producer.dispatch queue
        consumer.post(INTAKE_URL, status=202, json={"accepted": [], "duplicates": []})
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            # When a client creates a transaction
            response = api.post("/api/v1/transactions/", transfer(), format="json")
            assert response.status_code == 201
            tx_id = response.json()["id"]
            # Then the kick on commit reaches the worker, which sends it and records the 202
            assert wait_for(
                lambda: Transaction.objects.get(id=tx_id).status == Status.DISPATCHED
            ), "not dispatched in time"
        assert OutboxMessage.objects.get(transaction_id=tx_id).state == OutboxState.SENT
        sent = [call.request.body for call in consumer.calls]
        assert any(tx_id in str(body) for body in sent)
