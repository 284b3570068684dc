"""The transaction state machine: the one place that says which status may follow which.

Every change of status asks ``can_transition`` / ``check_transition`` on the locked row; a row
whose status cannot take the change is left alone. ``record_changes`` logs (one event per
change, with the transaction's correlation id) and counts them once committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bankflow.logging import get_logger
from producer.transactions import metrics
from producer.transactions.models import Status, Transaction

log = get_logger("producer.transactions")

TRANSITIONS: dict[str, frozenset[str]] = {
    # A result may overtake the dispatcher's bookkeeping: pending -> processed|failed.
    Status.PENDING: frozenset(
        {Status.DISPATCHED, Status.CANCELLED, Status.PROCESSED, Status.FAILED}
    ),
    Status.DISPATCHED: frozenset({Status.PROCESSED, Status.FAILED}),
    Status.FAILED: frozenset({Status.PENDING}),  # retry
    Status.PROCESSED: frozenset(),
    Status.CANCELLED: frozenset(),
}

# A result from the consumer is never applied on top of these.
FINAL = frozenset({Status.PROCESSED, Status.FAILED, Status.CANCELLED})


class InvalidTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"A {current} transaction cannot become {target}.")
        self.current = current
        self.target = target


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    if not can_transition(current, target):
        raise InvalidTransition(current, target)


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
    transactions: Iterable[Transaction], *, reason: str, now: datetime
) -> list[tuple[Transaction, str]]:
    """Mark already-locked transactions failed where the state machine allows it."""
    changed: list[tuple[Transaction, str]] = []
    for tx in transactions:
        if can_transition(tx.status, Status.FAILED):
            changed.append((tx, tx.status))
            tx.status, tx.failure_reason, tx.updated_at = Status.FAILED, reason, now
    Transaction.objects.bulk_update(
        [tx for tx, _ in changed], ["status", "failure_reason", "updated_at"]
    )
    return changed
