"""The producer's two lifecycles, each written once (``bankflow.statemachine``).

Every change of a transaction's status or an outbox row's state goes through these tables,
on locked rows or in one UPDATE that only moves rows whose state allows it.
``record_changes`` logs (one event per change, with the transaction's correlation id) and
counts them once committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from bankflow.db import update_rows
from bankflow.logging import get_logger
from bankflow.statemachine import StateMachine
from producer.transactions import events, metrics
from producer.transactions.models import EventKind, OutboxState, Status, Transaction

log = get_logger("producer.transactions")

TRANSACTION_STATES = StateMachine(
    "transaction",
    field="status",
    transitions={
        # A result may overtake the dispatcher's bookkeeping: pending -> processed|failed.
        Status.PENDING: {Status.DISPATCHED, Status.CANCELLED, Status.PROCESSED, Status.FAILED},
        Status.DISPATCHED: {Status.PROCESSED, Status.FAILED},
        Status.FAILED: {Status.PENDING},  # retry
        Status.PROCESSED: set(),
        Status.CANCELLED: set(),
    },
)

# A result from the consumer is never applied on top of these (failed only moves by retry).
FINAL = frozenset({Status.PROCESSED, Status.FAILED, Status.CANCELLED})

OUTBOX_STATES = StateMachine(
    "outbox message",
    field="state",
    transitions={
        # claimed by a dispatcher; cancelled with its transaction; sent when a 2xx overtook
        # an expired claim's retry bookkeeping
        OutboxState.PENDING: {OutboxState.IN_FLIGHT, OutboxState.CANCELLED, OutboxState.SENT},
        # settled: accepted, backed off, failed; or claimed again once its claim expired
        OutboxState.IN_FLIGHT: {
            OutboxState.SENT,
            OutboxState.PENDING,
            OutboxState.FAILED,
            OutboxState.IN_FLIGHT,
        },
        OutboxState.SENT: set(),
        OutboxState.FAILED: set(),  # a retry writes a new row
        OutboxState.CANCELLED: set(),
    },
)


def _log_change(tx: Transaction, previous: str) -> None:
    log.info(
        f"transaction_{tx.status}",
        transaction_id=str(tx.id),
        correlation_id=tx.correlation_id,
        previous_status=previous,
        status=tx.status,
        **({"failure_reason": tx.failure_reason} if tx.failure_reason else {}),
    )


def record_changes(changes: Iterable[tuple[Transaction, str]]) -> None:
    """Log and count state changes once they are committed."""
    for tx, previous in changes:
        _log_change(tx, previous)
        if tx.status in FINAL:
            metrics.transactions_completed.labels(
                status=tx.status, decision=metrics.decision_label(tx.result)
            ).inc()


def fail_locked(
    transactions: Iterable[Transaction],
    *,
    reason: str,
    now: datetime,
    attempts: Mapping[uuid.UUID, int] | None = None,
    batch: str = "",
) -> list[tuple[Transaction, str]]:
    """Mark already-locked transactions failed where the state machine allows it, each with
    its ``failed`` event (the dispatch attempt and batch that failed it, when there was one;
    one statement for the batch's events)."""
    changed = TRANSACTION_STATES.apply_many(transactions, Status.FAILED)
    for tx, _previous in changed:
        tx.failure_reason, tx.updated_at = reason, now
    update_rows(Transaction, [tx for tx, _ in changed], ["status", "failure_reason", "updated_at"])
    events.record_many(
        events.event(
            tx,
            EventKind.FAILED,
            previous=previous,
            new=tx.status,
            detail={
                "reason": reason,
                **({"attempt": attempts[tx.id]} if attempts and tx.id in attempts else {}),
                **({"batch": batch} if batch else {}),
            },
            at=now,
        )
        for tx, previous in changed
    )
    return changed
