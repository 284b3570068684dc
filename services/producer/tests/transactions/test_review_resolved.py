"""The consumer's ``transaction.review_resolved`` messages, as the webhook receiver applies them."""

import pytest

from producer.transactions.models import Status
from tests.factories import TransactionFactory
from tests.transactions.test_webhooks import RESULT, deliver, processed

pytestmark = pytest.mark.django_db

REVIEW_RESULT = {**RESULT, "decision": "review", "risk_score": 60, "fee": "0.00"}


def resolved(tx, decision="approved", reviewer="alice"):
    result = {
        "decision": decision,
        "risk_score": 60,
        "reasons": ["new_counterparty"],
        "fee": "1.25" if decision == "approved" else "0.00",
        "processed_at": "2026-11-21T11:00:00Z",
        "review": {
            "decision": decision,
            "note": "checked by phone",
            "reviewer": reviewer,
            "reviewed_at": "2026-11-21T11:00:00Z",
            "initial_risk_score": 60,
            "actor": f"staff:{reviewer}",
        },
    }
    return {"transaction_id": str(tx.id), "status": "processed", "result": result}


def resolution(*items):
    return {"type": "transaction.review_resolved", "version": 1, "results": list(items)}


def test_a_resolution_replaces_a_review_result_with_the_final_decision(client):
    # Given a transaction processed with decision review
    tx = TransactionFactory(status=Status.PROCESSED, result=REVIEW_RESULT)
    # When the consumer reports the reviewer's decision
    response = deliver(client, resolution(resolved(tx)), msg_id="msg_review_1")
    # Then the result carries the final decision and the review record
    assert response.status_code == 200
    assert response.json() == {"applied": 1, "ignored": 0}
    tx.refresh_from_db()
    assert tx.status == Status.PROCESSED
    assert tx.result["decision"] == "approved"
    assert tx.result["review"]["reviewer"] == "alice"
    # And one review_resolved event names the reviewer
    (event,) = tx.events.filter(kind="review_resolved")
    assert (event.from_status, event.to_status) == ("processed", "processed")
    assert event.actor == "staff:alice"
    assert event.detail["decision"] == "approved"
    assert event.detail["webhook_id"] == "msg_review_1"


def test_a_second_resolution_is_ignored(client):
    tx = TransactionFactory(status=Status.PROCESSED, result=REVIEW_RESULT)
    deliver(client, resolution(resolved(tx)), msg_id="msg_review_1")

    response = deliver(client, resolution(resolved(tx, "declined", "bob")), msg_id="msg_review_2")

    assert response.json() == {"applied": 0, "ignored": 1}
    tx.refresh_from_db()
    assert tx.result["review"]["reviewer"] == "alice"
    assert tx.events.filter(kind="review_resolved").count() == 1  # the ignored one wrote none


def test_a_resolution_may_overtake_the_first_result(client):
    # Given a dispatched transaction whose review result was lost or is late
    tx = TransactionFactory(status=Status.DISPATCHED)
    # When the resolution arrives first, it is the final result
    deliver(client, resolution(resolved(tx, "declined")), msg_id="msg_review_1")
    tx.refresh_from_db()
    assert (tx.status, tx.result["decision"]) == (Status.PROCESSED, "declined")
    (event,) = tx.events.filter(kind="review_resolved")
    assert (event.from_status, event.to_status) == ("dispatched", "processed")
    # And the late review result no longer changes it
    late = {**processed(tx), "result": REVIEW_RESULT}
    deliver(client, {"type": "transaction.results", "results": [late]}, msg_id="msg_late")
    tx.refresh_from_db()
    assert tx.result["decision"] == "declined"


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (Status.PROCESSED, RESULT),  # approved by the rules: nothing to resolve
        (Status.CANCELLED, None),
        (Status.FAILED, None),
    ],
)
def test_a_resolution_for_a_transaction_not_in_review_is_ignored(client, status, result):
    tx = TransactionFactory(status=status, result=result)

    response = deliver(client, resolution(resolved(tx)), msg_id="msg_review_x")

    assert response.json() == {"applied": 0, "ignored": 1}
    tx.refresh_from_db()
    assert (tx.status, tx.result) == (status, result)


def test_a_resolution_without_its_review_record_is_400(client):
    tx = TransactionFactory(status=Status.PROCESSED, result=REVIEW_RESULT)
    item = resolved(tx)
    del item["result"]["review"]

    response = deliver(client, resolution(item), msg_id="msg_review_bad")

    assert response.status_code == 400
    tx.refresh_from_db()
    assert tx.result == REVIEW_RESULT
