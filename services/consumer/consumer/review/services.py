"""Deciding a transaction the rules held for review.

One database transaction: lock the row, check the review state machine, post the ledger
legs and the fee when approved, write the decision and the final result, and write the
``transaction.review_resolved`` webhook message for the producer (delivered, retried and
redelivered like every other message). The lock makes a second reviewer wait and then
find the transaction decided; the decision's primary key (the transaction) and the
ledger's unique (transaction, leg) back that up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from bankflow import wire
from bankflow.errors import Conflict, Invalid, NotFound
from bankflow.logging import correlation, get_logger
from bankflow.money import round_money
from consumer.intake import events
from consumer.intake.models import EventKind, ReceivedTransaction, Status
from consumer.ledger.postings import postings_for
from consumer.ledger.services import ledger_post
from consumer.metrics import REVIEW_QUEUE_OVERDUE, REVIEW_QUEUE_SIZE, REVIEWS_DECIDED
from consumer.processing.fees import FeeSchedule
from consumer.processing.validation import validate_transaction
from consumer.review.models import Decision, ReviewDecision
from consumer.review.selectors import review_queue_summary
from consumer.review.states import REVIEW, REVIEW_STATES
from consumer.webhooks.services import webhook_messages_create

log = get_logger(__name__)

NOTE_MAX_LENGTH = 10_000
REVIEWER_MAX_LENGTH = 150


class AlreadyDecided(Conflict):
    """Someone decided this review first."""

    code = "already_decided"


class NotInReview(Conflict):
    code = "not_in_review"


@dataclass
class _Held:
    """The decision a locked transaction holds, for the state machine."""

    decision: str


def review_decide(
    *,
    transaction_id: UUID,
    decision: str,
    note: str,
    reviewer: str,
    user: User | None = None,
) -> ReceivedTransaction:
    """Approve or decline a transaction held for review, exactly once.

    Approving posts its legs and its fee to the ledger; declining posts nothing and costs
    nothing. Either way the final result (with the review record) goes to the producer.
    NotFound, NotInReview (409), AlreadyDecided (409) or Invalid (400) otherwise.
    """
    reviewer = (reviewer or "").strip()
    errors: dict[str, list[str]] = {}
    if decision not in Decision.values:
        errors["decision"] = [f"Must be one of: {', '.join(Decision.values)}."]
    if not reviewer:
        errors["reviewer"] = ["This field is required."]
    elif len(reviewer) > REVIEWER_MAX_LENGTH:
        errors["reviewer"] = [f"At most {REVIEWER_MAX_LENGTH} characters."]
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [f"At most {NOTE_MAX_LENGTH} characters."]
    if errors:
        raise Invalid(errors)

    now = timezone.now()
    with transaction.atomic():
        tx = ReceivedTransaction.objects.select_for_update().filter(id=transaction_id).first()
        if tx is None:
            raise NotFound("No such transaction.")
        result: dict[str, Any] = dict(tx.result or {})
        held = _Held(decision=str(result.get("decision", "")))
        if tx.status != Status.PROCESSED or held.decision not in REVIEW_STATES.states:
            raise NotInReview("This transaction is not held for review.")
        if held.decision != REVIEW:
            earlier = ReviewDecision.objects.filter(transaction=tx).first()
            if earlier is None:  # the rules decided it: nothing was ever held
                raise NotInReview(f"This transaction is not held for review ({held.decision}).")
            raise AlreadyDecided(
                f"Already decided: {earlier.decision} by {earlier.reviewer} "
                f"at {wire.iso_datetime(earlier.decided_at)}."
            )
        REVIEW_STATES.apply(held, decision)

        fee = round_money(Decimal(0), tx.currency)
        legs: list[str] = []
        if decision == Decision.APPROVED:
            valid = validate_transaction(tx)  # it passed once; the same rules, the same answer
            fee = FeeSchedule.from_settings().fee(
                type_=valid.type, amount=valid.amount, currency=valid.currency
            )
            postings = postings_for(
                transaction_id=tx.id,
                type=valid.type,
                amount=valid.amount,
                fee=fee,
                currency=valid.currency,
                source=valid.source,
                destination=valid.destination,
            )
            ledger_post(postings=postings)
            legs = [p.leg for p in postings]
        initial_score = int(result.get("risk_score", 0))
        actor = events.staff_actor(user) if user is not None else events.reviewer_actor(reviewer)
        ReviewDecision.objects.create(
            transaction=tx,
            decision=decision,
            note=note,
            reviewer=reviewer,
            reviewer_user=user,
            initial_risk_score=initial_score,
            fee=fee,
            decided_at=now,
        )
        tx.result = {
            **result,
            "decision": decision,
            "fee": str(fee),
            "processed_at": wire.iso_datetime(now),
            "review": {
                "decision": decision,
                "note": note,
                "reviewer": reviewer,
                "reviewed_at": wire.iso_datetime(now),
                "initial_risk_score": initial_score,
                "actor": actor,
            },
        }
        tx.updated_at = now
        tx.save(update_fields=["result", "updated_at"])
        trail = [
            events.event(
                tx,
                EventKind.REVIEW_RESOLVED,
                previous=tx.status,
                new=tx.status,
                detail={
                    "decision": decision,
                    "fee": str(fee),
                    "note": note,
                    "initial_risk_score": initial_score,
                },
                actor=actor,
                at=now,
            )
        ]
        if legs:
            trail.append(
                events.event(
                    tx,
                    EventKind.POSTED,
                    previous=tx.status,
                    new=tx.status,
                    detail={"legs": legs, "fee": str(fee)},
                    actor=actor,
                    at=now,
                )
            )
        events.record_many(trail)
        webhook_messages_create(transactions=[tx], type=wire.REVIEW_RESOLVED)
        transaction.on_commit(lambda: REVIEWS_DECIDED.labels(decision=decision).inc())
    with correlation(tx.correlation_id or None, transaction_id=str(tx.id)):
        log.info("transaction_review_resolved", decision=decision, reviewer=reviewer, fee=str(fee))
    return tx


def review_queue_measure() -> int:
    """Publish the queue's size and how many wait longer than REVIEW_MAX_AGE_HOURS."""
    summary = review_queue_summary()
    REVIEW_QUEUE_SIZE.set(summary.size)
    REVIEW_QUEUE_OVERDUE.set(summary.overdue)
    return summary.overdue
