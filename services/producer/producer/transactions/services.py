"""Writes on transactions. Keyword-only, typed; every status change goes through ``states``.

Creating writes the Transaction and its OutboxMessage in one database transaction and,
once committed, kicks the dispatcher (``outbox.dispatch_kick``): the request path never
publishes a task per transaction and never calls the consumer.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.db import transaction as db
from django.utils import timezone

from bankflow import wire
from bankflow.audit import reviewer_actor
from bankflow.db import copy_rows, update_rows
from bankflow.errors import Conflict, NotFound
from bankflow.logging import get_logger
from bankflow.wire import ResultItem
from producer.clients.models import Client
from producer.transactions import events, metrics
from producer.transactions.inputs import TransactionInput
from producer.transactions.models import (
    EventKind,
    OutboxMessage,
    OutboxState,
    Status,
    Transaction,
    TransactionEvent,
    WebhookReceipt,
)
from producer.transactions.outbox import dispatch_kick
from producer.transactions.states import (
    FINAL,
    OUTBOX_STATES,
    TRANSACTION_STATES,
    record_changes,
)

log = get_logger("producer.transactions")

REASON_MAX_LENGTH = Transaction._meta.get_field("failure_reason").max_length or 500


# --- state changes -------------------------------------------------------------------


def _transition(
    tx: Transaction,
    target: str,
    *,
    kind: str,
    actor: str,
    detail: dict[str, Any] | None = None,
    fields: Sequence[str] = (),
) -> None:
    """Move one locked transaction to ``target`` (InvalidTransition otherwise), save, and
    append its event."""
    previous = TRANSACTION_STATES.apply(tx, target)
    tx.save(update_fields=["status", "updated_at", *fields])
    events.record(tx, kind, previous=previous, new=tx.status, detail=detail, actor=actor)
    db.on_commit(lambda: record_changes([(tx, previous)]))


def _lock(*, client: Client, transaction_id: uuid.UUID) -> Transaction:
    tx = Transaction.objects.select_for_update().filter(client=client, id=transaction_id).first()
    if tx is None:
        raise NotFound("No such transaction.")
    return tx


def _live_outbox(tx: Transaction) -> OutboxMessage | None:
    return (
        OutboxMessage.objects.select_for_update()
        .filter(transaction=tx, state__in=[OutboxState.PENDING, OutboxState.IN_FLIGHT])
        .first()
    )


def _lock_pending_not_in_flight(
    *, client: Client, transaction_id: uuid.UUID, action: str
) -> tuple[Transaction, OutboxMessage | None]:
    """A pending transaction whose dispatch has not started, locked; else 409."""
    tx = _lock(client=client, transaction_id=transaction_id)
    if tx.status != Status.PENDING:
        raise Conflict(f"Only a pending transaction can be {action}; this one is {tx.status}.")
    outbox = _live_outbox(tx)
    if outbox is not None and outbox.state == OutboxState.IN_FLIGHT:
        # It may already have reached the consumer: changing it now could process a
        # cancelled transaction, or one that differs from what the client sees.
        raise Conflict(f"The transaction is being dispatched and can no longer be {action}.")
    return tx, outbox


# --- the API's writes ------------------------------------------------------------------


def transaction_bulk_create(
    *, client: Client, items: Sequence[TransactionInput], correlation_id: str
) -> list[Transaction]:
    """Store validated transactions and their outbox rows, all or nothing.

    On PostgreSQL the rows go in with COPY (one per table, in one database transaction);
    elsewhere with multi-row INSERTs.
    """
    now = timezone.now()
    # One microsecond apart, in list order: the cursor's ordering needs no ties to break.
    transactions = [
        Transaction(
            client=client,
            correlation_id=correlation_id,
            created_at=now + timedelta(microseconds=index),
            updated_at=now,
            **item,
        )
        for index, item in enumerate(items)
    ]
    outbox = [
        OutboxMessage(transaction=tx, available_at=now, created_at=now) for tx in transactions
    ]
    actor = events.client_actor(client)
    with db.atomic():
        copy_rows(Transaction, transactions, TRANSACTION_COLUMNS)
        copy_rows(OutboxMessage, outbox, OUTBOX_COLUMNS)
        events.record_many(
            events.event(tx, EventKind.CREATED, previous=None, new=tx.status, actor=actor, at=now)
            for tx in transactions
        )
        db.on_commit(lambda: _record_created(transactions))
        db.on_commit(dispatch_kick)
    return transactions


def transaction_create(
    *, client: Client, data: TransactionInput, correlation_id: str
) -> Transaction:
    """Store one transaction, its outbox row and its ``created`` event in one round trip: on
    PostgreSQL a single ``INSERT … RETURNING`` feeding two ``INSERT … SELECT``, atomic by
    itself."""
    if connection.vendor != "postgresql":
        return transaction_bulk_create(client=client, items=[data], correlation_id=correlation_id)[
            0
        ]
    now = timezone.now()
    tx = Transaction(
        client=client, correlation_id=correlation_id, created_at=now, updated_at=now, **data
    )
    outbox = OutboxMessage(transaction=tx, available_at=now, created_at=now)
    created = events.event(
        tx,
        EventKind.CREATED,
        previous=None,
        new=tx.status,
        actor=events.client_actor(client),
        at=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_ONE_SQL,
            [
                *_db_values(tx, TRANSACTION_COLUMNS),
                *_db_values(outbox, OUTBOX_COLUMNS[1:]),
                *_db_values(created, events.EVENT_COLUMNS[1:]),
            ],
        )
    db.on_commit(lambda: _record_created([tx]))
    db.on_commit(dispatch_kick)
    return tx


# What a create writes: every column of the transaction, the outbox row's own (its id from
# its sequence, its nullable columns NULL).
TRANSACTION_COLUMNS = [f.name for f in Transaction._meta.concrete_fields]
OUTBOX_COLUMNS = ["transaction", "state", "attempts", "available_at", "last_error", "created_at"]


def _insert_one_sql() -> str:
    """``INSERT … RETURNING`` feeding two ``INSERT … SELECT``: a transaction, its outbox row
    and its first event in one statement. Names from the models' metadata, every value a
    parameter."""
    tx_fields = [Transaction._meta.get_field(n) for n in TRANSACTION_COLUMNS]
    outbox_fields = [OutboxMessage._meta.get_field(n) for n in OUTBOX_COLUMNS]
    event_fields = [TransactionEvent._meta.get_field(n) for n in events.EVENT_COLUMNS]
    tx_columns = ", ".join(f'"{f.column}"' for f in tx_fields)  # type: ignore[union-attr]
    outbox_columns = ", ".join(f'"{f.column}"' for f in outbox_fields)  # type: ignore[union-attr]
    event_columns = ", ".join(f'"{f.column}"' for f in event_fields)  # type: ignore[union-attr]
    return (
        f'WITH tx AS (INSERT INTO "{Transaction._meta.db_table}" ({tx_columns})'  # noqa: S608
        f' VALUES ({", ".join(["%s"] * len(tx_fields))}) RETURNING "id"),'
        f' outbox AS (INSERT INTO "{OutboxMessage._meta.db_table}" ({outbox_columns})'
        f" SELECT tx.id, {', '.join(['%s'] * (len(outbox_fields) - 1))} FROM tx)"
        f' INSERT INTO "{TransactionEvent._meta.db_table}" ({event_columns})'
        f" SELECT tx.id, {', '.join(['%s'] * (len(event_fields) - 1))} FROM tx"
    )


INSERT_ONE_SQL = _insert_one_sql()


def _db_values(obj: Any, names: Sequence[str]) -> list[Any]:
    fields = [type(obj)._meta.get_field(n) for n in names]
    return [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]


def _record_created(transactions: Sequence[Transaction]) -> None:
    for kind, count in Counter(tx.type for tx in transactions).items():
        metrics.transactions_created.labels(type=kind).inc(count)
    for tx in transactions:
        log.info(
            "transaction_created",
            transaction_id=str(tx.id),
            correlation_id=tx.correlation_id,
            type=tx.type,
            currency=tx.currency,
            status=tx.status,
        )


@db.atomic
def transaction_update(
    *,
    client: Client,
    transaction_id: uuid.UUID,
    reference: str | None = None,
    description: str | None = None,
    actor: str | None = None,
) -> Transaction:
    """Change the free-text fields of a pending transaction; its ``updated`` event names
    the fields whose value changed (none changed: no event)."""
    tx, _outbox = _lock_pending_not_in_flight(
        client=client, transaction_id=transaction_id, action="changed"
    )
    fields = []
    if reference is not None and reference != tx.reference:
        tx.reference = reference
        fields.append("reference")
    if description is not None and description != tx.description:
        tx.description = description
        fields.append("description")
    if fields:
        tx.save(update_fields=[*fields, "updated_at"])
        events.record(
            tx,
            EventKind.UPDATED,
            previous=tx.status,
            new=tx.status,
            detail={"fields": fields},
            actor=actor or events.client_actor(client),
        )
    log.info("transaction_updated", transaction_id=str(tx.id), fields=fields)
    return tx


@db.atomic
def transaction_cancel(
    *, client: Client, transaction_id: uuid.UUID, actor: str | None = None
) -> Transaction:
    tx, outbox = _lock_pending_not_in_flight(
        client=client, transaction_id=transaction_id, action="cancelled"
    )
    _transition(
        tx, Status.CANCELLED, kind=EventKind.CANCELLED, actor=actor or events.client_actor(client)
    )
    if outbox is not None:
        OUTBOX_STATES.apply(outbox, OutboxState.CANCELLED)
        outbox.save(update_fields=["state"])
    return tx


@db.atomic
def transaction_retry(
    *, client: Client, transaction_id: uuid.UUID, actor: str | None = None
) -> Transaction:
    """Dispatch a failed transaction again, with a fresh outbox row (attempts from zero)."""
    tx = _lock(client=client, transaction_id=transaction_id)
    if not TRANSACTION_STATES.can(tx.status, Status.PENDING):
        raise Conflict(f"Only a failed transaction can be retried; this one is {tx.status}.")
    outbox = _live_outbox(tx)
    if outbox is not None and outbox.state == OutboxState.IN_FLIGHT:
        raise Conflict("A dispatch of this transaction is still in flight; retry shortly.")
    detail = {"previous_failure_reason": tx.failure_reason}
    tx.failure_reason, tx.result = "", None
    _transition(
        tx,
        Status.PENDING,
        kind=EventKind.RETRIED,
        actor=actor or events.client_actor(client),
        detail=detail,
        fields=["failure_reason", "result"],
    )
    now = timezone.now()
    if outbox is None:
        OutboxMessage.objects.create(transaction=tx, available_at=now)
    else:
        outbox.attempts, outbox.available_at, outbox.last_error = 0, now, ""
        outbox.save(update_fields=["attempts", "available_at", "last_error"])
    db.on_commit(dispatch_kick)
    return tx


# --- results from the consumer ---------------------------------------------------------


def transaction_apply_results(
    *, results: Sequence[ResultItem], webhook_id: str = ""
) -> tuple[int, int]:
    """Apply each result on its own and idempotently: (applied, ignored).

    Unknown ids and transactions whose status cannot take the result (already final) are
    ignored and write no event; each applied one appends its ``result_applied`` or
    ``failed`` event, all in one statement. Rows are locked in id order so that concurrent
    writers cannot deadlock.
    """
    now = timezone.now()
    changed: dict[uuid.UUID, tuple[Transaction, str]] = {}
    with db.atomic():
        locked = _lock_for_results(results)
        ignored = 0
        for item in results:
            tx = locked.get(item["transaction_id"])
            target = item["status"]
            if tx is None or tx.status in FINAL or not TRANSACTION_STATES.can(tx.status, target):
                ignored += 1
                continue
            previous = TRANSACTION_STATES.apply(tx, target)
            tx.updated_at = now
            tx.result = item.get("result")
            tx.failure_reason = (
                (item.get("reason") or "unspecified")[:REASON_MAX_LENGTH]
                if target == Status.FAILED
                else ""
            )
            changed[tx.id] = (tx, previous)
        _write_results(
            changed.values(),
            [_result_event(tx, p, webhook_id=webhook_id, at=now) for tx, p in changed.values()],
        )
        db.on_commit(lambda: _record_results(changed.values(), now=now))
    return len(changed), ignored


def transaction_apply_review_resolutions(
    *, results: Sequence[ResultItem], webhook_id: str = ""
) -> tuple[int, int]:
    """Apply reviewers' final decisions (``transaction.review_resolved``): (applied, ignored).

    A resolution replaces the result of a processed transaction whose current decision is
    ``review``, once (its status stays ``processed``); on a transaction not final yet it is
    applied as the final result (it overtook the first one). Anything else - a second
    resolution, a declined or approved first result, a cancelled or failed transaction, an
    unknown id - is ignored and writes no event; each applied one appends a
    ``review_resolved`` event whose actor is the reviewer.
    """
    now = timezone.now()
    changed: dict[uuid.UUID, tuple[Transaction, str]] = {}
    with db.atomic():
        locked = _lock_for_results(results)
        ignored = 0
        for item in results:
            tx = locked.get(item["transaction_id"])
            if tx is None or tx.id in changed:
                ignored += 1
                continue
            previous = tx.status
            if tx.status == Status.PROCESSED and (tx.result or {}).get("decision") == "review":
                pass  # the hold is lifted: same status, the final result
            elif tx.status not in FINAL and TRANSACTION_STATES.can(tx.status, Status.PROCESSED):
                TRANSACTION_STATES.apply(tx, Status.PROCESSED)
            else:
                ignored += 1
                continue
            tx.result, tx.failure_reason, tx.updated_at = item.get("result"), "", now
            changed[tx.id] = (tx, previous)
        _write_results(
            changed.values(),
            [_review_event(tx, p, webhook_id=webhook_id, at=now) for tx, p in changed.values()],
        )
        overtaken = [(tx, previous) for tx, previous in changed.values() if previous != tx.status]
        db.on_commit(lambda: _record_results(overtaken, now=now))
        db.on_commit(lambda: _log_resolutions([tx for tx, _ in changed.values()]))
    return len(changed), ignored


def _lock_for_results(results: Sequence[ResultItem]) -> dict[uuid.UUID, Transaction]:
    """The transactions the results name, locked in id order (concurrent writers of results
    cannot deadlock)."""
    ids = {r["transaction_id"] for r in results}
    return {
        tx.id: tx
        for tx in Transaction.objects.select_for_update().filter(id__in=ids).order_by("id")
    }


def _write_results(
    changed: Iterable[tuple[Transaction, str]], changed_events: list[TransactionEvent]
) -> None:
    """The changed transactions' result columns in one statement, their events in another."""
    update_rows(
        Transaction,
        [tx for tx, _ in changed],
        ["status", "result", "failure_reason", "updated_at"],
    )
    events.record_many(changed_events)


def _review_event(
    tx: Transaction, previous: str, *, webhook_id: str, at: datetime
) -> TransactionEvent:
    result = tx.result or {}
    review = result.get("review") or {}
    detail = {
        "decision": result.get("decision"),
        "fee": result.get("fee"),
        "initial_risk_score": review.get("initial_risk_score"),
        "note": review.get("note", ""),
        **({"webhook_id": webhook_id} if webhook_id else {}),
    }
    actor = review.get("actor") or reviewer_actor(str(review.get("reviewer", "")))
    return events.event(
        tx,
        EventKind.REVIEW_RESOLVED,
        previous=previous,
        new=tx.status,
        detail=detail,
        actor=str(actor),
        at=at,
    )


def _log_resolutions(transactions: Iterable[Transaction]) -> None:
    for tx in transactions:
        review = (tx.result or {}).get("review") or {}
        log.info(
            "transaction_review_resolved",
            transaction_id=str(tx.id),
            correlation_id=tx.correlation_id,
            decision=review.get("decision"),
            reviewer=review.get("reviewer"),
        )


def _result_event(
    tx: Transaction, previous: str, *, webhook_id: str, at: datetime
) -> TransactionEvent:
    """The event an applied result writes: ``failed`` with its reason, else
    ``result_applied`` with the decision."""
    source = {"webhook_id": webhook_id} if webhook_id else {}
    if tx.status == Status.FAILED:
        kind, detail = EventKind.FAILED, {"reason": tx.failure_reason, **source}
    else:
        result = tx.result or {}
        kind = EventKind.RESULT_APPLIED
        detail = {k: result[k] for k in ("decision", "risk_score", "fee") if k in result}
        detail.update(source)
    return events.event(tx, kind, previous=previous, new=tx.status, detail=detail, at=at)


def _record_results(changes: Iterable[tuple[Transaction, str]], *, now: datetime) -> None:
    record_changes(changes)
    for tx, _previous in changes:
        metrics.end_to_end_seconds.observe(max((now - tx.created_at).total_seconds(), 0.0))


def webhook_receive(
    *, msg_id: str, results: Sequence[ResultItem], type: str = wire.RESULTS
) -> dict[str, Any]:
    """Apply one webhook message once: a repeated ``webhook-id`` changes nothing.

    ``type`` is the message's (``bankflow.wire``): results, or reviewers' resolutions.

    The receipt is written with the results: a copy of a message applied before (or a
    concurrent one) fails on its unique id and rolls its no-op work back. Duplicates are
    rare, so they pay that instead of every message paying a look-up first.
    """
    try:
        with db.atomic():
            apply = (
                transaction_apply_review_resolutions
                if type == wire.REVIEW_RESOLVED
                else transaction_apply_results
            )
            applied, ignored = apply(results=results, webhook_id=msg_id)
            # Written with the results: a concurrent copy of the message fails here and
            # rolls back (its results were no-ops behind our row locks anyway).
            WebhookReceipt.objects.create(msg_id=msg_id, applied=applied, ignored=ignored)
    except IntegrityError:
        if WebhookReceipt.objects.filter(msg_id=msg_id).exists():
            return {"duplicate": True}
        raise
    return {"applied": applied, "ignored": ignored}


def webhook_receipts_purge() -> int:
    """Forget receipts older than WEBHOOK_RECEIPT_TTL_HOURS (far beyond the consumer's retries)."""
    cutoff = timezone.now() - timedelta(hours=settings.WEBHOOK_RECEIPT_TTL_HOURS)
    deleted, _ = WebhookReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
