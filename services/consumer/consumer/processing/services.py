"""The pipeline: claim a batch, then validate, score, price, post and report it at once.

1. Claim (short transaction): lock the rows that are not being worked on
   (``select_for_update(skip_locked=True)``) and move them ``received -> processing``.
2. Process (one transaction): lock the claimed rows again, skipping any another worker
   holds, and write everything - results, ledger entries, the webhook message - in one
   commit. A redelivered or concurrent batch finds the rows final (or locked) and does
   nothing; the unique (transaction_id, leg) constraint backs this up in the ledger.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bankflow import wire
from bankflow.db import update_rows
from bankflow.logging import correlation, current_correlation_id, get_logger
from bankflow.money import round_money
from consumer.intake import events
from consumer.intake.models import FINAL_STATUSES, EventKind, ReceivedTransaction, Status
from consumer.intake.services import transactions_store
from consumer.intake.states import TRANSACTION_STATES
from consumer.ledger.postings import Posting, postings_for
from consumer.ledger.services import ledger_post
from consumer.metrics import (
    INTAKE_BATCH_SIZE,
    PROCESSING_BATCH_SECONDS,
    PROCESSING_BATCH_SIZE,
    TRANSACTIONS_FAILED,
    TRANSACTIONS_PROCESSED,
    TRANSACTIONS_RECEIVED,
)
from consumer.processing.fees import FeeSchedule
from consumer.processing.risk import APPROVED, Facts, RiskConfig, assess
from consumer.processing.signals import Signals, gather_signals
from consumer.processing.validation import (
    BusinessRuleViolation,
    ValidTransaction,
    validate_transaction,
)
from consumer.utils import chunked
from consumer.webhooks.services import webhook_messages_create

log = get_logger(__name__)

OPEN_STATUSES = (Status.RECEIVED, Status.PROCESSING)


@dataclass(frozen=True)
class IntakeOutcome:
    accepted: list[UUID]
    duplicates: list[UUID]


def transactions_receive(*, items: Sequence[wire.IntakeItem]) -> IntakeOutcome:
    """Store new transactions and enqueue their processing, in one commit.

    A duplicate id is not processed again; if its result is final, the result is sent
    again in a new webhook message (a producer that lost it, or re-dispatched, converges).
    """
    with transaction.atomic():
        stored = transactions_store(items=items, correlation_id=current_correlation_id() or "")
        # Only the new ids: a duplicate delivery is not a step of the transaction.
        events.record_many(
            events.event(
                stored.rows[tx_id],
                EventKind.RECEIVED,
                previous=None,
                new=Status.RECEIVED,
                at=stored.rows[tx_id].received_at,
            )
            for tx_id in stored.accepted
        )
        enqueue_processing(stored.accepted)
        final = list(
            ReceivedTransaction.objects.filter(id__in=stored.duplicates, status__in=FINAL_STATUSES)
        )
        webhook_messages_create(transactions=final)
    TRANSACTIONS_RECEIVED.inc(len(stored.accepted))
    INTAKE_BATCH_SIZE.observe(len(items))
    for tx_id in stored.accepted:  # one event per state change, each under its own id
        log.info(
            "transaction_received",
            transaction_id=str(tx_id),
            correlation_id=stored.rows[tx_id].correlation_id,
        )
    log.info(
        "transactions_received",
        accepted=len(stored.accepted),
        duplicates=len(stored.duplicates),
        resent=len(final),
    )
    return IntakeOutcome(accepted=stored.accepted, duplicates=stored.duplicates)


@dataclass
class BatchOutcome:
    processed: dict[str, int] = field(default_factory=dict)  # per decision
    failed: int = 0
    skipped: int = 0


def transactions_process(*, transaction_ids: Sequence[UUID | str]) -> BatchOutcome:
    """Claim, validate, score, price, post and report a batch in one database transaction.

    The open rows this worker can lock (``FOR UPDATE SKIP LOCKED``) move received ->
    processing -> processed | failed, their ledger legs are posted and the results message
    written, all in one commit. A concurrent batch skips the locked rows; a worker that
    dies leaves everything rolled back for the redelivered task (or the sweep) to redo.
    """
    started = time.perf_counter()
    risk, fees = RiskConfig.from_settings(), FeeSchedule.from_settings()
    with transaction.atomic():
        rows = list(
            ReceivedTransaction.objects.select_for_update(skip_locked=True)
            .filter(id__in=list(transaction_ids), status__in=OPEN_STATUSES)
            .order_by("id")
        )
        outcome = BatchOutcome(skipped=len(set(transaction_ids)) - len(rows))
        if not rows:
            return outcome
        claimed = TRANSACTION_STATES.apply_many(rows, Status.PROCESSING)
        valid: dict[UUID, ValidTransaction] = {}
        for row in rows:
            try:
                valid[row.id] = validate_transaction(row)
            except BusinessRuleViolation as exc:
                row.failure_reason = str(exc)
        signals = gather_signals(
            list(valid.values()),
            window_seconds=risk.velocity_window_seconds,
            memory_days=settings.RISK_COUNTERPARTY_MEMORY_DAYS,
        )
        now = timezone.now()
        postings: list[Posting] = []
        for row in rows:
            tx = valid.get(row.id)
            if tx is None:
                TRANSACTION_STATES.apply(row, Status.FAILED)
                outcome.failed += 1
            else:
                row.result, legs = _decide(tx, risk, fees, signals[tx.id], processed_at=now)
                postings += legs
                TRANSACTION_STATES.apply(row, Status.PROCESSED)
                decision = row.result["decision"]
                outcome.processed[decision] = outcome.processed.get(decision, 0) + 1
            row.processed_at = row.updated_at = now
        update_rows(
            ReceivedTransaction,
            rows,
            ["status", "result", "failure_reason", "processed_at", "updated_at"],
        )
        ledger_post(postings=postings)
        events.record_many(_batch_events(rows, claimed, postings, now=now))
        webhook_messages_create(transactions=rows)
    _record(rows, outcome, seconds=time.perf_counter() - started)
    return outcome


def _batch_events(
    rows: Sequence[ReceivedTransaction],
    claimed: Sequence[tuple[ReceivedTransaction, str]],
    postings: Sequence[Posting],
    *,
    now: datetime,
) -> list[events.TransactionEvent]:
    """A batch's steps, each row's in order: processing (if this batch claimed it),
    decided or failed, posted (approved ones, with their legs)."""
    claimed_from = {row.id: previous for row, previous in claimed}
    legs: dict[UUID, int] = {}
    for posting in postings:
        legs[posting.transaction_id] = legs.get(posting.transaction_id, 0) + 1
    trail = []
    for row in rows:
        if row.id in claimed_from:
            trail.append(
                events.event(
                    row,
                    EventKind.PROCESSING,
                    previous=claimed_from[row.id],
                    new=Status.PROCESSING,
                    at=now,
                )
            )
        if row.status == Status.FAILED:
            trail.append(
                events.event(
                    row,
                    EventKind.FAILED,
                    previous=Status.PROCESSING,
                    new=row.status,
                    detail={"reason": row.failure_reason},
                    at=now,
                )
            )
            continue
        result = row.result or {}
        trail.append(
            events.event(
                row,
                EventKind.DECIDED,
                previous=Status.PROCESSING,
                new=row.status,
                detail={k: result.get(k) for k in ("decision", "risk_score", "reasons", "fee")},
                at=now,
            )
        )
        if legs.get(row.id):
            trail.append(
                events.event(
                    row,
                    EventKind.POSTED,
                    previous=row.status,
                    new=row.status,
                    detail={"legs": legs[row.id], "fee": result.get("fee")},
                    at=now,
                )
            )
    return trail


def _decide(
    tx: ValidTransaction,
    risk: RiskConfig,
    fees: FeeSchedule,
    signals: Signals,
    *,
    processed_at: datetime,
) -> tuple[dict[str, Any], list[Posting]]:
    """The result and the ledger legs of one valid transaction.

    Only ``approved`` moves money and costs a fee. ``declined`` and ``review`` post nothing
    and report a zero fee: a review is a hold until a reviewer decides it (consumer.review).
    """
    facts = Facts(
        type=tx.type,
        amount=tx.amount,
        currency=tx.currency,
        source=tx.source,
        destination=tx.destination,
        velocity_count=signals.velocity_count,
        new_counterparty=signals.new_counterparty,
    )
    assessment = assess(facts, risk)
    fee = round_money(Decimal(0), tx.currency)
    legs: list[Posting] = []
    if assessment.decision == APPROVED:
        fee = fees.fee(type_=tx.type, amount=tx.amount, currency=tx.currency)
        legs = postings_for(
            transaction_id=tx.id,
            type=tx.type,
            amount=tx.amount,
            fee=fee,
            currency=tx.currency,
            source=tx.source,
            destination=tx.destination,
        )
    result = {
        "decision": assessment.decision,
        "risk_score": assessment.score,
        "reasons": assessment.reasons,
        "fee": str(fee),
        "processed_at": wire.iso_datetime(processed_at),
    }
    return result, legs


def _record(rows: list[ReceivedTransaction], outcome: BatchOutcome, *, seconds: float) -> None:
    PROCESSING_BATCH_SECONDS.observe(seconds)
    PROCESSING_BATCH_SIZE.observe(len(rows))
    for decision, count in outcome.processed.items():
        TRANSACTIONS_PROCESSED.labels(decision=decision).inc(count)
    if outcome.failed:
        TRANSACTIONS_FAILED.inc(outcome.failed)
    # One line per transaction and outcome: processing and its outcome commit together, so
    # no one ever sees a transaction in `processing` that a line of its own would announce.
    for row in rows:
        with correlation(row.correlation_id or None, transaction_id=str(row.id)):
            if row.status == Status.FAILED:
                log.info("transaction_failed", reason=row.failure_reason)
            else:
                result = row.result or {}
                log.info(
                    "transaction_processed",
                    decision=result.get("decision"),
                    risk_score=result.get("risk_score"),
                    reasons=result.get("reasons"),
                    fee=result.get("fee"),
                )


def transactions_sweep_stuck(*, limit: int = 5000) -> int:
    """Enqueue again what is still open long after its last change (a lost task).

    Touching ``updated_at`` keeps a long backlog from being enqueued again on every sweep.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.PROCESSING_STUCK_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(
            ReceivedTransaction.objects.filter(status__in=OPEN_STATUSES, updated_at__lt=cutoff)
            .order_by("updated_at")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        ReceivedTransaction.objects.filter(id__in=ids).update(updated_at=timezone.now())
        enqueue_processing(ids)
    log.warning("transactions_requeued", count=len(ids))
    return len(ids)


def enqueue_processing(ids: Sequence[UUID]) -> None:
    """One process_batch task per chunk, published when the caller commits."""
    from consumer.processing.tasks import process_batch

    for chunk in chunked(ids, settings.PROCESSING_BATCH_SIZE):
        # DjangoTask (bankflow.celery.make_app); celery-types does not know the method
        process_batch.apply_async_on_commit(([str(i) for i in chunk],))  # type: ignore[attr-defined]
