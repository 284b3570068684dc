"""Every change of a transaction appends exactly one event, in the change's transaction;
what changes nothing (a duplicate webhook, a late result) appends none."""

from __future__ import annotations

import pytest
import responses

from producer.transactions.models import (
    OutboxMessage,
    OutboxState,
    Status,
    Transaction,
    TransactionEvent,
)
from producer.transactions.outbox import outbox_dispatch_batch
from tests.conftest import INTAKE_URL
from tests.factories import OutboxMessageFactory, TransactionFactory, transfer
from tests.transactions.test_webhooks import deliver, failed, message, processed

pytestmark = pytest.mark.django_db


def trail(tx) -> list[tuple[str, str | None, str]]:
    return [
        (e.kind, e.from_status, e.to_status)
        for e in TransactionEvent.objects.filter(transaction_id=tx.id).order_by("at", "id")
    ]


def test_create_writes_one_created_event_naming_the_client(api):
    response = api.post("/api/v1/transactions/", transfer(), format="json")
    tx = Transaction.objects.get(id=response.json()["id"])
    (event,) = tx.events.all()
    assert (event.kind, event.from_status, event.to_status) == ("created", None, "pending")
    assert event.actor == f"client:{api.tenant.id}"
    assert event.correlation_id == tx.correlation_id != ""
    assert event.at == tx.created_at


def test_bulk_create_writes_one_event_per_transaction_in_one_statement(api, event_statements):
    response = api.post("/api/v1/transactions/bulk/", [transfer()] * 5, format="json")
    assert response.status_code == 201
    ids = [item["id"] for item in response.json()]
    assert TransactionEvent.objects.filter(transaction_id__in=ids, kind="created").count() == 5
    assert TransactionEvent.objects.count() == 5
    assert event_statements == [5]


def test_update_writes_an_event_naming_the_changed_fields(api):
    tx = TransactionFactory(client=api.tenant, description="rent")
    url = f"/api/v1/transactions/{tx.id}/"
    assert (
        api.patch(url, {"reference": "NEW", "description": "rent"}, format="json").status_code
        == 200
    )
    (event,) = tx.events.all()
    assert (event.kind, event.from_status, event.to_status) == ("updated", "pending", "pending")
    assert event.detail == {"fields": ["reference"]}
    assert event.actor == f"client:{api.tenant.id}"
    # The same values again change nothing and write nothing.
    assert api.patch(url, {"reference": "NEW"}, format="json").status_code == 200
    assert tx.events.count() == 1


def test_cancel_writes_one_cancelled_event(api):
    tx = OutboxMessageFactory(transaction__client=api.tenant).transaction
    assert api.delete(f"/api/v1/transactions/{tx.id}/").status_code == 204
    assert trail(tx) == [("cancelled", "pending", "cancelled")]
    assert tx.events.get().actor == f"client:{api.tenant.id}"
    # A refused second cancel writes nothing.
    assert api.delete(f"/api/v1/transactions/{tx.id}/").status_code == 409
    assert tx.events.count() == 1


def test_retry_writes_one_retried_event_with_the_reason_it_failed(api):
    tx = TransactionFactory(client=api.tenant, status=Status.FAILED, failure_reason="boom")
    assert api.post(f"/api/v1/transactions/{tx.id}/retry/").status_code == 202
    (event,) = tx.events.all()
    assert (event.kind, event.from_status, event.to_status) == ("retried", "failed", "pending")
    assert event.detail == {"previous_failure_reason": "boom"}
    assert api.post(f"/api/v1/transactions/{tx.id}/retry/").status_code == 409
    assert tx.events.count() == 1


@responses.activate
def test_a_dispatched_batch_writes_one_event_each_in_one_statement(event_statements):
    messages = OutboxMessageFactory.create_batch(3)
    responses.post(INTAKE_URL, status=202, json={"accepted": [], "duplicates": []})
    assert outbox_dispatch_batch(batch_size=10) == 3
    found = list(TransactionEvent.objects.order_by("id"))
    assert sorted(e.transaction_id for e in found) == sorted(m.transaction_id for m in messages)
    assert {(e.kind, e.from_status, e.to_status) for e in found} == {
        ("dispatched", "pending", "dispatched")
    }
    assert {e.detail["attempt"] for e in found} == {1}
    assert len({e.detail["batch"] for e in found}) == 1
    assert {e.detail["batch_size"] for e in found} == {3}
    assert event_statements == [3]


@responses.activate
def test_a_failed_attempt_that_will_be_retried_writes_dispatch_failed(settings):
    settings.DISPATCH_MAX_ATTEMPTS = 3
    tx = OutboxMessageFactory().transaction
    responses.post(INTAKE_URL, status=503)
    outbox_dispatch_batch(batch_size=10)
    (event,) = tx.events.all()
    assert (event.kind, event.from_status, event.to_status) == (
        "dispatch_failed",
        "pending",
        "pending",
    )
    assert event.detail["attempt"] == 1
    assert event.detail["error"] == "HTTP 503"
    assert "next_attempt_at" in event.detail


@responses.activate
def test_the_last_failed_attempt_writes_one_failed_event(settings):
    settings.DISPATCH_MAX_ATTEMPTS = 1
    tx = OutboxMessageFactory().transaction
    responses.post(INTAKE_URL, status=503)
    outbox_dispatch_batch(batch_size=10)
    assert trail(tx) == [("failed", "pending", "failed")]
    detail = tx.events.get().detail
    assert "unreachable" in detail["reason"]
    assert detail["attempt"] == 1
    assert detail["batch"]


@responses.activate
def test_a_rejected_item_fails_and_the_rest_of_its_batch_is_retried():
    good, bad = OutboxMessageFactory.create_batch(2)
    responses.post(INTAKE_URL, status=400, json={"1": {"amount": ["Must be positive."]}})
    outbox_dispatch_batch(batch_size=10)
    assert trail(bad.transaction) == [("failed", "pending", "failed")]
    failed = bad.transaction.events.get().detail
    assert "amount" in failed["reason"]
    assert trail(good.transaction) == [("dispatch_failed", "pending", "pending")]
    retried = good.transaction.events.get().detail
    assert retried["batch"] == failed["batch"]
    assert retried["attempt"] == failed["attempt"] == 1


def test_results_write_one_event_each_and_repeats_write_none(client, event_statements):
    ok = TransactionFactory(status=Status.DISPATCHED)
    ko = TransactionFactory(status=Status.DISPATCHED)
    assert deliver(client, message(processed(ok), failed(ko)), msg_id="msg_a").status_code == 200
    assert trail(ok) == [("result_applied", "dispatched", "processed")]
    assert ok.events.get().detail == {
        "decision": "approved",
        "risk_score": 12,
        "fee": "1.25",
        "webhook_id": "msg_a",
    }
    assert trail(ko) == [("failed", "dispatched", "failed")]
    assert ko.events.get().detail == {"reason": "declined by rules", "webhook_id": "msg_a"}
    assert event_statements == [2]
    # The same message again (a duplicate webhook-id) and a late result in a new message
    # change nothing and write nothing.
    assert deliver(client, message(processed(ok), failed(ko)), msg_id="msg_a").json() == {
        "duplicate": True
    }
    assert deliver(client, message(failed(ok), processed(ko)), msg_id="msg_b").json() == {
        "applied": 0,
        "ignored": 2,
    }
    assert TransactionEvent.objects.count() == 2


def test_a_result_that_overtakes_the_dispatch_bookkeeping_is_one_event(client):
    tx = OutboxMessageFactory(state=OutboxState.IN_FLIGHT).transaction
    assert deliver(client, message(processed(tx)), msg_id="msg_c").status_code == 200
    assert trail(tx) == [("result_applied", "pending", "processed")]


def test_a_rolled_back_change_leaves_no_event(api, monkeypatch):
    tx = OutboxMessageFactory(transaction__client=api.tenant).transaction

    def broken(*args, **kwargs):
        raise RuntimeError("outbox write failed")

    monkeypatch.setattr(OutboxMessage, "save", broken)
    with pytest.raises(RuntimeError):
        api.delete(f"/api/v1/transactions/{tx.id}/")
    assert tx.events.count() == 0
    assert Transaction.objects.get(id=tx.id).status == Status.PENDING
