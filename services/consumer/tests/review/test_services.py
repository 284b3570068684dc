import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from bankflow.errors import Invalid, NotFound
from consumer.intake.models import Status
from consumer.ledger.models import Entry
from consumer.review.models import ReviewDecision
from consumer.review.services import (
    AlreadyDecided,
    NotInReview,
    review_decide,
    review_queue_measure,
)
from consumer.webhooks.models import WebhookMessage
from tests.factories import ReceivedTransactionFactory

pytestmark = pytest.mark.django_db

HELD = {
    "decision": "review",
    "risk_score": 60,
    "reasons": ["new_counterparty", "high_risk_country"],
    "fee": "0.00",
    "processed_at": "2026-11-21T10:00:01Z",
}


def held(**kw):
    return ReceivedTransactionFactory(status=Status.PROCESSED, result=dict(HELD), **kw)


def test_approving_posts_the_legs_and_the_fee_and_tells_the_producer(producer):
    # Given a transaction the rules held for review
    tx = held(amount=Decimal("1000.00"))
    # When a reviewer approves it
    decided = review_decide(transaction_id=tx.id, decision="approved", note="ok", reviewer="alice")
    # Then its result is final, with the fee and the review record
    result = decided.result
    assert result["decision"] == "approved"
    assert Decimal(result["fee"]) > 0
    assert result["risk_score"] == 60 and result["reasons"] == HELD["reasons"]
    assert result["review"] == {
        "decision": "approved",
        "note": "ok",
        "reviewer": "alice",
        "reviewed_at": result["processed_at"],
        "initial_risk_score": 60,
        "actor": "reviewer:alice",
    }
    # And the ledger holds its principal and its fee, balanced
    entries = Entry.objects.filter(transaction_id=tx.id)
    assert sorted(e.leg for e in entries) == ["credit", "debit", "fee_credit", "fee_debit"]
    assert sum(e.amount for e in entries) == 0
    fee_debit = entries.get(leg="fee_debit")
    assert -fee_debit.amount == Decimal(result["fee"])
    # And one review_resolved message carries the whole final result
    message = WebhookMessage.objects.get(transactions=tx)
    assert message.payload["type"] == "transaction.review_resolved"
    assert message.payload["results"][0]["result"] == result
    assert ReviewDecision.objects.get(transaction=tx).reviewer == "alice"
    # And the audit trail says who resolved it and what was posted
    trail = [(e.kind, e.actor) for e in tx.events.all()]
    assert trail == [("review_resolved", "reviewer:alice"), ("posted", "reviewer:alice")]


def test_a_staff_user_is_the_actor_of_the_event(producer):
    from django.contrib.auth.models import User

    user = User.objects.create_user("rita", is_staff=True)
    tx = held()

    review_decide(transaction_id=tx.id, decision="declined", note="n", reviewer="rita", user=user)

    (event,) = tx.events.all()
    assert (event.kind, event.actor, event.detail["note"]) == ("review_resolved", "staff:rita", "n")


def test_declining_posts_nothing_and_costs_nothing(producer):
    tx = held()

    decided = review_decide(transaction_id=tx.id, decision="declined", note="", reviewer="bob")

    assert (decided.result["decision"], decided.result["fee"]) == ("declined", "0.00")
    assert not Entry.objects.filter(transaction_id=tx.id).exists()
    assert WebhookMessage.objects.get(transactions=tx).payload["type"] == (
        "transaction.review_resolved"
    )


def test_a_second_decision_is_refused_as_already_decided(producer):
    tx = held()
    review_decide(transaction_id=tx.id, decision="approved", note="", reviewer="alice")

    with pytest.raises(AlreadyDecided, match="Already decided: approved by alice"):
        review_decide(transaction_id=tx.id, decision="declined", note="", reviewer="bob")

    assert Entry.objects.filter(transaction_id=tx.id).count() == 4
    assert WebhookMessage.objects.filter(transactions=tx).count() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": Status.PROCESSED, "result": {**HELD, "decision": "approved"}},
        {"status": Status.FAILED, "failure_reason": "bad"},
        {"status": Status.RECEIVED},
    ],
)
def test_a_transaction_not_held_for_review_cannot_be_decided(kwargs):
    tx = ReceivedTransactionFactory(**kwargs)

    with pytest.raises(NotInReview):
        review_decide(transaction_id=tx.id, decision="approved", note="", reviewer="alice")


def test_an_unknown_transaction_is_not_found():
    with pytest.raises(NotFound):
        review_decide(transaction_id=uuid.uuid4(), decision="approved", note="", reviewer="a")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"decision": "review", "reviewer": "a"}, "decision"),
        ({"decision": "approved", "reviewer": "  "}, "reviewer"),
        ({"decision": "approved", "reviewer": "a" * 151}, "reviewer"),
        ({"decision": "approved", "reviewer": "a", "note": "x" * 10_001}, "note"),
    ],
)
def test_bad_input_is_refused_field_by_field(kwargs, field):
    tx = held()

    with pytest.raises(Invalid) as caught:
        review_decide(transaction_id=tx.id, **{"note": "", **kwargs})

    assert field in caught.value.errors


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_one_decides_the_other_is_told(producer):
    # Given one held transaction and two reviewers pressing at the same moment
    tx = held()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(decision: str, reviewer: str) -> None:
        barrier.wait()
        try:
            review_decide(transaction_id=tx.id, decision=decision, note="", reviewer=reviewer)
            outcomes.append("decided")
        except AlreadyDecided:
            outcomes.append("already decided")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=("approved", "alice")),
        threading.Thread(target=decide, args=("declined", "bob")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one decision exists, and the other reviewer heard "already decided"
    assert sorted(outcomes) == ["already decided", "decided"]
    assert ReviewDecision.objects.filter(transaction_id=tx.id).count() == 1
    assert WebhookMessage.objects.filter(transactions=tx).count() == 1
    decision = ReviewDecision.objects.get(transaction_id=tx.id).decision
    assert Entry.objects.filter(transaction_id=tx.id).count() == (
        4 if decision == "approved" else 0
    )


def test_the_queue_measurement_counts_what_waits_too_long(settings):
    from django.utils import timezone

    from consumer.metrics import REVIEW_QUEUE_OVERDUE, REVIEW_QUEUE_SIZE

    settings.REVIEW_MAX_AGE_HOURS = 1
    now = timezone.now()
    held(processed_at=now - timezone.timedelta(hours=2))
    held(processed_at=now)

    assert review_queue_measure() == 1
    assert REVIEW_QUEUE_SIZE._value.get() == 2
    assert REVIEW_QUEUE_OVERDUE._value.get() == 1


def test_the_review_queue_reads_its_partial_index():
    from django.db import connection

    from consumer.review.selectors import review_queue

    if connection.vendor != "postgresql":
        pytest.skip("the index is PostgreSQL's")
    held()
    sql, params = review_queue().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "received_review_queue" in plan, plan
