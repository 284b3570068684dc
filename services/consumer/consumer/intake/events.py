"""The consumer's audit trail: append one event per change, in the change's transaction.

``event`` builds an unsaved row; ``record`` inserts one; ``record_many`` inserts a batch
with one COPY (PostgreSQL) or one multi-row INSERT, so a batch of changes pays one
statement for its events, never one per row. Call them inside the database transaction
that makes the change: the event commits or rolls back with it. Nothing here updates or
deletes an event (and on PostgreSQL a trigger refuses both).

``actor`` says who asked, for operator actions: ``staff:<username>``, ``reviewer:<name>``,
``command:<name>``; empty for the system's own steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from bankflow.db import copy_rows
from consumer.intake.models import ReceivedTransaction, TransactionEvent

EVENT_COLUMNS = [
    "transaction",
    "at",
    "kind",
    "from_status",
    "to_status",
    "detail",
    "correlation_id",
    "actor",
]


def event(
    transaction: ReceivedTransaction,
    kind: str,
    *,
    previous: str | None,
    new: str,
    detail: dict[str, Any] | None = None,
    actor: str = "",
    at: datetime | None = None,
) -> TransactionEvent:
    """An unsaved event for ``record_many``; the correlation id is the transaction's."""
    return TransactionEvent(
        transaction_id=transaction.pk,
        at=at or timezone.now(),
        kind=str(kind),
        from_status=None if previous is None else str(previous),
        to_status=str(new),
        detail=detail or {},
        correlation_id=transaction.correlation_id or "",
        actor=actor,
    )


def record(
    transaction: ReceivedTransaction,
    kind: str,
    *,
    previous: str | None,
    new: str,
    detail: dict[str, Any] | None = None,
    actor: str = "",
) -> TransactionEvent:
    """Append one event (one INSERT)."""
    row = event(transaction, kind, previous=previous, new=new, detail=detail, actor=actor)
    row.save(force_insert=True)
    return row


def record_many(rows: Iterable[TransactionEvent | Mapping[str, Any]]) -> int:
    """Append a batch of events in one statement; how many.

    Each row is an event built with ``event``, or a mapping of ``event``'s arguments
    (``{"transaction": tx, "kind": …, "previous": …, "new": …, "detail": …, "actor": …}``).
    """
    built = [row if isinstance(row, TransactionEvent) else event(**row) for row in rows]
    if built:
        copy_rows(TransactionEvent, built, EVENT_COLUMNS)
    return len(built)


def staff_actor(user: Any) -> str:
    return f"staff:{user.get_username()}"


def reviewer_actor(name: str) -> str:
    return f"reviewer:{name}"


def command_actor(name: str) -> str:
    return f"command:{name}"
