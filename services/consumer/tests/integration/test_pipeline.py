"""The pipeline against the real database, broker and Redis, with threads as workers."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
import responses
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection, connections
from prometheus_client import REGISTRY

from bankflow.webhooks import verify
from consumer.celery import app
from consumer.intake.models import ReceivedTransaction, Status
from consumer.ledger.models import Entry
from consumer.ledger.selectors import ledger_totals
from consumer.processing.services import transactions_process
from consumer.webhooks.models import MessageState, WebhookMessage
from consumer.webhooks.services import webhook_message_deliver
from tests.factories import ReceivedTransactionFactory, WebhookMessageFactory, iban
from tests.integration.conftest import postgres, rabbitmq

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(count: int, target: Callable[[], object]) -> list[object]:
    """Start ``count`` threads together; each uses (and closes) its own DB connection."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(target())
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def mixed_transactions(count: int) -> list[ReceivedTransaction]:
    rng = random.Random(42)
    accounts = [iban(n) for n in range(12)] + [iban(n, "FR") for n in range(8)]
    rows = []
    for _ in range(count):
        type_ = rng.choice(["transfer", "payment", "deposit", "withdrawal"])
        source, destination = rng.sample(accounts, 2)
        currency = rng.choice(["EUR", "EUR", "GBP", "JPY", "BHD"])
        places = {"JPY": 0, "BHD": 3}.get(currency, 2)
        amount = Decimal(rng.randint(1, 2_000_000)).scaleb(-places)
        rows.append(
            ReceivedTransactionFactory.build(
                type=type_,
                amount=amount,
                currency=currency,
                source_account="" if type_ == "deposit" else source,
                destination_account="" if type_ == "withdrawal" else destination,
            )
        )
    return ReceivedTransaction.objects.bulk_create(rows)


@postgres
def test_the_same_batch_processed_twice_at_once_posts_once(producer):
    rows = mixed_transactions(60)
    ids = [r.id for r in rows]

    run_in_threads(2, lambda: transactions_process(transaction_ids=ids))

    assert not ReceivedTransaction.objects.exclude(status__in=[Status.PROCESSED, Status.FAILED])
    approved = ReceivedTransaction.objects.filter(result__decision="approved")
    assert Entry.objects.values("transaction_id").distinct().count() == approved.count()
    reported = [
        r["transaction_id"] for m in WebhookMessage.objects.all() for r in m.payload["results"]
    ]
    assert sorted(reported) == sorted(str(i) for i in ids)  # each result reported once
    assert set(ledger_totals().values()) <= {Decimal(0)}


@postgres
def test_two_workers_never_send_the_same_attempt(producer, settings):
    def slow_ok(request):
        time.sleep(0.3)
        return 200, {}, "{}"

    producer.remove(responses.POST, settings.PRODUCER_WEBHOOK_URL)
    producer.add_callback(responses.POST, settings.PRODUCER_WEBHOOK_URL, callback=slow_ok)
    message = WebhookMessageFactory()

    outcomes = run_in_threads(3, lambda: webhook_message_deliver(message_id=message.id))

    assert Counter(outcomes) == {"delivered": 1, None: 2}
    assert len(producer.calls) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (MessageState.DELIVERED, 1)


def test_the_ledger_balances_after_a_few_hundred_mixed_transactions(producer, settings):
    settings.RISK_VELOCITY_LIMIT = 10_000  # let most of them through to the ledger
    rows = mixed_transactions(300)
    ids = [r.id for r in rows]

    for start in range(0, len(ids), 100):
        transactions_process(transaction_ids=ids[start : start + 100])

    decisions = set(
        ReceivedTransaction.objects.exclude(result=None).values_list("result__decision", flat=True)
    )
    assert "approved" in decisions
    assert Entry.objects.count() >= 2 * 150
    assert set(ledger_totals()) >= {"EUR", "GBP", "JPY"}
    assert all(total == 0 for total in ledger_totals().values())
    for account in {e.account.code for e in Entry.objects.select_related("account")[:20]}:
        entries = Entry.objects.filter(account__code=account)
        assert entries.exists()


@postgres
@rabbitmq
def test_a_batch_flows_through_a_real_worker_to_the_producer(api, producer, settings):
    """Intake over HTTP -> RabbitMQ -> worker (process_batch, deliver) -> faked producer."""
    app.conf.task_always_eager = False
    settings.METRICS_PORT = 0
    received: list[dict] = []

    def producer_receives(request):
        received.append(
            verify([settings.WEBHOOK_SECRET], headers=request.headers, body=request.body)
        )
        return 200, {}, json.dumps({"applied": 1, "ignored": 0})

    producer.remove(responses.POST, settings.PRODUCER_WEBHOOK_URL)
    producer.add_callback(responses.POST, settings.PRODUCER_WEBHOOK_URL, callback=producer_receives)
    purge_queues()
    items = [
        {
            "id": str(uuid.uuid4()),
            "type": "transfer",
            "amount": "10.00",
            "currency": "EUR",
            "source_account": iban(100 + n),
            "destination_account": iban(200 + n),
            "correlation_id": f"e2e-{n}",
        }
        for n in range(25)
    ]

    with worker():
        response = api.post("/api/v1/transactions/", items, format="json")
        assert response.status_code == 202
        wait_for(lambda: WebhookMessage.objects.filter(state=MessageState.DELIVERED).exists())

    assert ReceivedTransaction.objects.filter(status=Status.PROCESSED).count() == 25
    results = [r for message in received for r in message["results"]]
    assert sorted(r["transaction_id"] for r in results) == sorted(i["id"] for i in items)
    assert {r["correlation_id"] for r in results} == {f"e2e-{n}" for n in range(25)}
    assert REGISTRY.get_sample_value(
        "bankflow_consumer_celery_task_seconds_count",
        {"task": "consumer.webhooks.tasks.deliver", "queue": "consumer.webhooks"},
    )
    assert api.get(f"/api/v1/transactions/{items[0]['id']}/").json()["webhook"] == {
        "state": "delivered",
        "attempts": 1,
        "last_status_code": 200,
    }


def purge_queues() -> None:
    with app.connection_for_write() as conn:
        for queue in app.conf.task_queues:
            bound = queue(conn.default_channel)
            bound.declare()
            bound.purge()


class worker:
    """A real worker thread on both queues; its DB connection is closed after each task."""

    def __enter__(self) -> None:
        def close_db(**_: object) -> None:
            connection.close()

        self._close_db = close_db
        task_postrun.connect(close_db, weak=False)
        self._ctx = start_worker(
            app, perform_ping_check=False, shutdown_timeout=30, pool="threads", concurrency=2
        )
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        try:
            self._ctx.__exit__(*exc)
        finally:
            task_postrun.disconnect(self._close_db)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
