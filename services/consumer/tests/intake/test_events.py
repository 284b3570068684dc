"""The consumer's trail: one event per step, written with the step's batch; a duplicate
delivery writes none."""

from __future__ import annotations

from decimal import Decimal

import pytest

from consumer.intake.models import ReceivedTransaction, TransactionEvent
from consumer.processing.services import transactions_process
from consumer.webhooks.models import MessageState, WebhookMessage
from consumer.webhooks.services import webhook_message_deliver, webhook_messages_redeliver
from tests.factories import ReceivedTransactionFactory
from tests.intake.test_api import URL, item
from tests.processing.test_services import RU

pytestmark = pytest.mark.django_db


def trail(tx_id) -> list[tuple[str, str | None, str]]:
    return [
        (e.kind, e.from_status, e.to_status)
        for e in TransactionEvent.objects.filter(transaction_id=tx_id).order_by("at", "id")
    ]


def test_intake_processing_and_delivery_each_write_one_event_per_transaction(
    api, producer, django_capture_on_commit_callbacks, event_statements
):
    bodies = [item(), item()]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(URL, bodies, format="json").status_code == 202
    for body in bodies:
        assert trail(body["id"]) == [
            ("received", None, "received"),
            ("processing", "received", "processing"),
            ("decided", "processing", "processed"),
            ("posted", "processed", "processed"),
            ("webhook_attempt", "processed", "processed"),
        ]
        decided = TransactionEvent.objects.get(transaction_id=body["id"], kind="decided")
        row = ReceivedTransaction.objects.get(id=body["id"])
        assert decided.detail == {
            k: row.result[k] for k in ("decision", "risk_score", "reasons", "fee")
        }
        assert decided.detail["decision"] == "approved"
        assert "cross_border" in decided.detail["reasons"]
        assert decided.correlation_id == "req-1"
        posted = TransactionEvent.objects.get(transaction_id=body["id"], kind="posted")
        assert posted.detail == {"legs": 4, "fee": "0.50"}
        attempt = TransactionEvent.objects.get(transaction_id=body["id"], kind="webhook_attempt")
        assert attempt.detail["attempt"] == 1
        assert attempt.detail["outcome"] == "delivered"
        assert attempt.detail["status_code"] == 200
    # One statement per step for the whole batch: received, the processing batch, the attempt.
    assert event_statements == [2, 6, 2]


def test_a_duplicate_delivery_writes_no_event(api, producer, django_capture_on_commit_callbacks):
    body = item()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, body, format="json")
    before = TransactionEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, body, format="json")
    assert response.json()["duplicates"] == [body["id"]]
    # The final result is sent again: only that attempt is a new step.
    assert [e.kind for e in TransactionEvent.objects.order_by("id")[before:]] == ["webhook_attempt"]


@pytest.mark.parametrize(("amount", "decision"), [("100000.00", "declined"), ("100.00", "review")])
def test_declined_and_review_are_decided_and_not_posted(amount, decision):
    row = ReceivedTransactionFactory(amount=Decimal(amount), destination_account=RU)
    transactions_process(transaction_ids=[row.id])
    assert trail(row.id) == [
        ("processing", "received", "processing"),
        ("decided", "processing", "processed"),
    ]
    assert TransactionEvent.objects.get(kind="decided").detail["decision"] == decision


def test_a_failed_transaction_records_its_reason():
    row = ReceivedTransactionFactory(amount=Decimal("1.5"), currency="JPY")
    transactions_process(transaction_ids=[row.id])
    assert trail(row.id) == [
        ("processing", "received", "processing"),
        ("failed", "processing", "failed"),
    ]
    reason = ReceivedTransaction.objects.get(id=row.id).failure_reason
    assert TransactionEvent.objects.get(kind="failed").detail == {"reason": reason}


def test_a_batch_processed_again_writes_nothing():
    row = ReceivedTransactionFactory()
    transactions_process(transaction_ids=[row.id])
    before = TransactionEvent.objects.count()
    transactions_process(transaction_ids=[row.id])
    assert TransactionEvent.objects.count() == before


def test_each_attempt_and_a_redelivery_are_on_the_record(producer, settings):
    settings.WEBHOOK_RETRY_JITTER = 0
    row = ReceivedTransactionFactory(processed=True)
    producer.replace("POST", settings.PRODUCER_WEBHOOK_URL, status=503)
    message = WebhookMessage.objects.create(
        id="msg_x",
        payload={
            "type": "transaction.results",
            "results": [{"transaction_id": str(row.id), "status": "processed"}],
        },
        next_attempt_at=row.updated_at,
    )
    message.transactions.add(row)
    assert webhook_message_deliver(message_id="msg_x") == "retry"
    WebhookMessage.objects.filter(id="msg_x").update(state=MessageState.DEAD)
    assert webhook_messages_redeliver(message_ids=["msg_x"], actor="staff:ops") == ["msg_x"]
    first, redelivery = TransactionEvent.objects.filter(transaction=row).order_by("id")
    assert first.kind == "webhook_attempt"
    assert first.detail == {
        "webhook_id": "msg_x",
        "attempt": 1,
        "outcome": "retry",
        "status_code": 503,
    }
    assert (redelivery.kind, redelivery.actor) == ("webhook_redelivery", "staff:ops")
    assert redelivery.detail == {"webhook_id": "msg_x"}


def test_the_detail_api_lists_the_events_oldest_first(
    api, producer, django_capture_on_commit_callbacks
):
    body = item()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, body, format="json")
    answer = api.get(f"{URL}{body['id']}/").json()
    assert [e["type"] for e in answer["events"]] == [
        "received",
        "processing",
        "decided",
        "posted",
        "webhook_attempt",
    ]
    assert answer["events"][0] == {
        "at": answer["events"][0]["at"],
        "type": "received",
        "from_status": None,
        "to_status": "received",
        "detail": {},
        "correlation_id": "req-1",
        "actor": "",
    }
    assert answer["events"][0]["at"].endswith("Z")
