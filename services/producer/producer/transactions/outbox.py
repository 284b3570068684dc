"""The transactional outbox: claim due rows, send them to the consumer in one request,
settle the answer.

A row is ``pending`` (due at ``available_at``) → ``in_flight`` (claimed until
``claimed_until``; an expired claim is due again) → ``sent`` on a 2xx, or back to
``pending`` with exponential backoff on a transient error, or ``failed`` when the consumer
rejected the item or every attempt failed. A cancelled transaction's row is ``cancelled``.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import requests
from django.conf import settings
from django.db import connection
from django.db import transaction as db
from django.db.models import Q
from django.utils import timezone

from bankflow import wire
from bankflow.logging import get_logger, outgoing_headers
from bankflow.redis import get_redis
from producer.transactions import events, metrics
from producer.transactions.models import (
    ACTIVE_OUTBOX_STATES,
    EventKind,
    OutboxMessage,
    OutboxState,
    Status,
    Transaction,
)
from producer.transactions.states import (
    FINAL,
    OUTBOX_STATES,
    TRANSACTION_STATES,
    fail_locked,
    record_changes,
)

log = get_logger("producer.outbox")

KICK_KEY = "bankflow:producer:dispatch-kick"
# The kick outlives its dispatch's linger by this much: long enough for the task to start
# and release it, short enough that a lost task only delays the next commit's kick.
KICK_SLACK_MS = 2000
ERROR_MAX_LENGTH = 500
_jitter = secrets.SystemRandom()


# --- kicking the dispatcher -------------------------------------------------------------


# Until when (time.time()) this process knows a dispatch is scheduled that will carry its
# next commits: within it, a commit costs no Redis round trip at all.
_covered_until = 0.0
# A scheduled dispatch covers the commits of the first part of its linger only, so that
# clock and timer skew between processes cannot leave a commit behind it.
COVER_SHARE = 0.8


def dispatch_kick() -> None:
    """After a commit: one dispatch for all the commits of the next DISPATCH_LINGER_MS.

    The first commit of a window sets the kick (its value: when) and enqueues a dispatch
    that starts once the linger has passed, so the window's transactions go out in one
    intake request even when they arrive one by one; a backlog is drained in full batches
    without waiting (see ``outbox_drain``). Every process learns from the kick when the
    pending dispatch was scheduled and skips Redis until then. Any failure (Redis, broker)
    only delays dispatch until the sweep.
    """
    global _covered_until
    now = time.time()
    if now < _covered_until:
        return
    linger = max(settings.DISPATCH_LINGER_MS, 0) / 1000
    try:
        earlier = get_redis().set(
            KICK_KEY, repr(now), nx=True, px=int(linger * 1000) + KICK_SLACK_MS, get=True
        )
        if earlier is None:
            from producer.transactions.tasks import dispatch_outbox

            dispatch_outbox.apply_async(countdown=linger)
            _covered_until = now + COVER_SHARE * linger
        else:
            _covered_until = float(earlier) + COVER_SHARE * linger
    except Exception:
        log.warning("dispatch_kick_failed", exc_info=True)


def _release_kick() -> None:
    # Called by the dispatcher before each claim: a commit after this point kicks a new
    # dispatch, and everything committed before it is seen by the claim.
    try:
        get_redis().delete(KICK_KEY)
    except Exception:
        log.warning("dispatch_kick_release_failed", exc_info=True)


# --- the consumer's intake --------------------------------------------------------------

_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per process and thread (created after a fork)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def intake_item(tx: Transaction) -> wire.IntakeItem:
    return wire.intake_item(
        id=tx.id,
        reference=tx.reference,
        type=tx.type,
        amount=tx.amount,
        currency=tx.currency,
        source_account=tx.source_account,
        destination_account=tx.destination_account,
        description=tx.description,
        created_at=tx.created_at,
        client_id=tx.client_id,
        correlation_id=tx.correlation_id,
    )


def post_to_consumer(items: list[wire.IntakeItem]) -> requests.Response:
    return _session().post(
        f"{settings.CONSUMER_URL.rstrip('/')}/api/v1/transactions/",
        data=wire.encode(items),
        headers={
            "Authorization": f"Bearer {settings.CONSUMER_API_TOKEN}",
            "Content-Type": "application/json",
            wire.VERSION_HEADER: str(wire.VERSION),
            **outgoing_headers(),
        },
        timeout=settings.DISPATCH_HTTP_TIMEOUT_SECONDS,
    )


# --- claim, send, settle ----------------------------------------------------------------


def _due(now: datetime) -> Q:
    return Q(state=OutboxState.PENDING, available_at__lte=now) | Q(
        state=OutboxState.IN_FLIGHT, claimed_until__lt=now
    )


def outbox_claim(*, batch_size: int) -> list[OutboxMessage]:
    """Due rows, marked in flight for DISPATCH_STUCK_AFTER_SECONDS; skips rows others hold.

    One statement, atomic by itself: ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)
    RETURNING``, moving only rows whose state the outbox machine lets become in_flight.
    """
    now = timezone.now()
    claimed_until = now + timedelta(seconds=settings.DISPATCH_STUCK_AFTER_SECONDS)
    ops = connection.ops
    sources = sorted(OUTBOX_STATES.sources(OutboxState.IN_FLIGHT))
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(len(sources)),
            [
                OutboxState.IN_FLIGHT,
                ops.adapt_datetimefield_value(claimed_until),
                *sources,
                OutboxState.PENDING,
                ops.adapt_datetimefield_value(now),
                OutboxState.IN_FLIGHT,
                ops.adapt_datetimefield_value(now),
                batch_size,
            ],
        )
        claimed = cursor.fetchall()
    if not claimed:
        return []
    transactions = Transaction.objects.in_bulk([uuid_value(t) for _, t, _ in claimed])
    messages = []
    for message_id, transaction_id, attempts in claimed:
        message = OutboxMessage(
            id=message_id,
            transaction_id=uuid_value(transaction_id),
            state=OutboxState.IN_FLIGHT,
            attempts=attempts,
            claimed_until=claimed_until,
        )
        message.transaction = transactions[message.transaction_id]
        messages.append(message)
    return sorted(messages, key=lambda m: m.id)


def uuid_value(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


@lru_cache(maxsize=4)
def _claim_sql(source_count: int) -> str:
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    lock = (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )
    states = ", ".join(["%s"] * source_count)
    return (
        f"UPDATE {table} SET state = %s, claimed_until = %s, attempts = attempts + 1"  # noqa: S608
        f" WHERE id IN (SELECT id FROM {table} WHERE state IN ({states}) AND"
        " ((state = %s AND available_at <= %s) OR (state = %s AND claimed_until < %s))"
        f" ORDER BY available_at, id LIMIT %s{lock})"
        " RETURNING id, transaction_id, attempts"
    )


def backoff_seconds(attempts: int) -> float:
    """Exponential, capped, with jitter so that many rows do not come back at once."""
    delay: float = min(
        settings.DISPATCH_BACKOFF_MAX_SECONDS,
        settings.DISPATCH_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return delay / 2 + _jitter.uniform(0, delay / 2)


def _lock_transactions(messages: Sequence[OutboxMessage]) -> list[Transaction]:
    # Transactions before outbox rows, in id order: the same order as cancel and the
    # webhook, so that they cannot deadlock with the dispatcher.
    return list(
        Transaction.objects.select_for_update()
        .filter(id__in=[m.transaction_id for m in messages])
        .order_by("id")
    )


def _fail_messages(
    messages: Sequence[OutboxMessage],
    locked: dict[uuid.UUID, Transaction],
    *,
    reason: str,
    last_error: str,
    now: datetime,
    attempts: dict[uuid.UUID, int],
    batch: str,
) -> list[tuple[Transaction, str]]:
    """Fail the messages' (locked) transactions with ``reason`` and their outbox rows."""
    changed = fail_locked(
        [locked[m.transaction_id] for m in messages],
        reason=reason,
        now=now,
        attempts=attempts,
        batch=batch,
    )
    OUTBOX_STATES.update(
        OutboxMessage.objects.filter(id__in=[m.id for m in messages]),
        OutboxState.FAILED,
        claimed_until=None,
        last_error=last_error,
    )
    return changed


def _batch_id() -> str:
    """Names one intake request in its transactions' events."""
    return uuid.uuid4().hex[:16]


def _attempts(messages: Sequence[OutboxMessage]) -> dict[uuid.UUID, int]:
    return {m.transaction_id: m.attempts for m in messages}


def _settle_accepted(messages: Sequence[OutboxMessage], *, batch: str) -> None:
    now = timezone.now()
    attempts = _attempts(messages)
    with db.atomic():
        # Only rows still pending: a result may have overtaken us.
        moved = TRANSACTION_STATES.apply_many(_lock_transactions(messages), Status.DISPATCHED)
        Transaction.objects.filter(id__in=[tx.id for tx, _ in moved]).update(
            status=Status.DISPATCHED, updated_at=now
        )
        events.record_many(
            events.event(
                tx,
                EventKind.DISPATCHED,
                previous=previous,
                new=tx.status,
                detail={"attempt": attempts[tx.id], "batch": batch, "batch_size": len(messages)},
                at=now,
            )
            for tx, previous in moved
        )
        OUTBOX_STATES.update(
            OutboxMessage.objects.filter(id__in=[m.id for m in messages]),
            OutboxState.SENT,
            sent_at=now,
            claimed_until=None,
            last_error="",
        )
        db.on_commit(lambda: record_changes(moved))
    metrics.transactions_dispatched.inc(len(moved))


def _error_summary(errors: Any) -> str:
    if isinstance(errors, dict):
        return "; ".join(
            f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
    return str(errors)


def _settle_rejected(messages: Sequence[OutboxMessage], body: Any, *, batch: str) -> None:
    """A 400: the named items are failed, the others are sent again at once."""
    if isinstance(body, dict) and body and all(str(k).isdigit() for k in body):
        reasons = {
            messages[int(k)].id: _error_summary(v)
            for k, v in body.items()
            if int(k) < len(messages)
        }
    else:  # the whole request was refused: sending it again cannot help
        summary = _error_summary(body)
        reasons = {m.id: summary for m in messages}
    now = timezone.now()
    attempts = _attempts(messages)
    by_reason: dict[str, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        if message.id in reasons:
            reason = f"rejected by the consumer: {reasons[message.id]}"[:ERROR_MAX_LENGTH]
            by_reason[reason].append(message)
    again = [m for m in messages if m.id not in reasons]
    with db.atomic():
        locked = {tx.id: tx for tx in _lock_transactions(messages)}
        changed = []
        for reason, rejected in by_reason.items():
            changed += _fail_messages(
                rejected, locked, reason=reason, last_error=reason, now=now,
                attempts=attempts, batch=batch,
            )  # fmt: skip
        OUTBOX_STATES.update(
            OutboxMessage.objects.filter(id__in=[m.id for m in again]),
            OutboxState.PENDING,
            available_at=now,
            claimed_until=None,
        )
        _record_dispatch_failed(
            [locked[m.transaction_id] for m in again if m.transaction_id in locked],
            attempts,
            error="another item of the batch was rejected",
            batch=batch,
            now=now,
        )
        db.on_commit(lambda: record_changes(changed))


def _record_dispatch_failed(
    transactions: Sequence[Transaction],
    attempts: dict[uuid.UUID, int],
    *,
    error: str,
    batch: str,
    now: datetime,
    retry_at: dict[uuid.UUID, datetime] | None = None,
) -> None:
    """A ``dispatch_failed`` event (status unchanged) for each transaction whose attempt
    failed and will be retried: one statement for the batch."""
    events.record_many(
        events.event(
            tx,
            EventKind.DISPATCH_FAILED,
            previous=tx.status,
            new=tx.status,
            detail={
                "attempt": attempts[tx.id],
                "batch": batch,
                "error": error,
                **(
                    {"next_attempt_at": wire.iso_datetime(retry_at[tx.id])}
                    if retry_at and tx.id in retry_at
                    else {}
                ),
            },
            at=now,
        )
        for tx in transactions
        if tx.status not in FINAL  # a result overtook the attempt: nothing to retry
    )


def _settle_error(messages: Sequence[OutboxMessage], error: str, *, batch: str) -> None:
    """A transient failure: back off, or fail the transaction after the last attempt."""
    now = timezone.now()
    error = error[:ERROR_MAX_LENGTH]
    max_attempts = settings.DISPATCH_MAX_ATTEMPTS
    attempts = _attempts(messages)
    exhausted = [m for m in messages if m.attempts >= max_attempts]
    by_attempts: dict[int, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        if message.attempts < max_attempts:
            by_attempts[message.attempts].append(message)
    with db.atomic():
        # Transactions before outbox rows (see _lock_transactions); the status each
        # dispatch_failed event states is the one read under this lock.
        locked = {tx.id: tx for tx in _lock_transactions(messages)}
        changed: list[tuple[Transaction, str]] = []
        if exhausted:
            reason = f"consumer unreachable after {max_attempts} attempts ({error})"
            changed = _fail_messages(
                exhausted, locked, reason=reason[:ERROR_MAX_LENGTH], last_error=error, now=now,
                attempts=attempts, batch=batch,
            )  # fmt: skip
        retry_at: dict[uuid.UUID, datetime] = {}
        for count, group in by_attempts.items():
            available_at = now + timedelta(seconds=backoff_seconds(count))
            retry_at.update((m.transaction_id, available_at) for m in group)
            OUTBOX_STATES.update(
                OutboxMessage.objects.filter(id__in=[m.id for m in group]),
                OutboxState.PENDING,
                available_at=available_at,
                claimed_until=None,
                last_error=error,
            )
        _record_dispatch_failed(
            [locked[t] for t in retry_at if t in locked],
            attempts,
            error=error,
            batch=batch,
            now=now,
            retry_at=retry_at,
        )
        db.on_commit(lambda: record_changes(changed))
    log.warning("dispatch_failed", error=error, batch=len(messages), exhausted=len(exhausted))


def outbox_dispatch_batch(*, batch_size: int) -> int:
    """Claim one batch, POST it, settle the answer; the number of rows claimed."""
    messages = outbox_claim(batch_size=batch_size)
    if not messages:
        return 0
    metrics.dispatch_batch_size.observe(len(messages))
    batch = _batch_id()
    try:
        response = post_to_consumer([intake_item(m.transaction) for m in messages])
    except requests.RequestException as exc:
        metrics.dispatch_requests.labels(outcome="error").inc()
        _settle_error(messages, f"{type(exc).__name__}", batch=batch)
        return len(messages)
    if 200 <= response.status_code < 300:
        metrics.dispatch_requests.labels(outcome="accepted").inc()
        _settle_accepted(messages, batch=batch)
    elif response.status_code == 400 and not _unsupported_version(body := _json(response)):
        metrics.dispatch_requests.labels(outcome="rejected").inc()
        log.warning("dispatch_rejected", batch=len(messages), errors=body)
        _settle_rejected(messages, body, batch=batch)
    else:  # 401/403 (misconfigured token), 429, 5xx, a wire version the consumer does not
        # know yet: transient as far as we can tell
        metrics.dispatch_requests.labels(outcome="error").inc()
        _settle_error(messages, f"HTTP {response.status_code}", batch=batch)
    return len(messages)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:ERROR_MAX_LENGTH]


def _unsupported_version(body: Any) -> bool:
    return isinstance(body, dict) and body.get("code") == wire.UnsupportedVersion.code


def outbox_drain(*, batch_size: int, budget_seconds: float) -> tuple[int, bool]:
    """Dispatch full batches while there is a backlog, then the last partial one, and stop.

    A batch closes on size (a full claim) or on the linger (the partial claim of a kicked
    dispatch), so batches grow by themselves under load and hold at low load: once caught
    up, the commits that arrived during the last send have kicked the next, lingering
    dispatch. Returns (rows claimed, more may be due) so that the task can hand over to a
    new run when its time budget is spent.
    """
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        _release_kick()
        claimed = outbox_dispatch_batch(batch_size=batch_size)
        total += claimed
        if claimed < batch_size:
            return total, False
        if time.monotonic() >= deadline:
            return total, True


def outbox_sweep() -> bool:
    """Set the backlog gauge; True when rows are due (new, backed off, or claim expired)."""
    now = timezone.now()
    metrics.outbox_backlog.set(OutboxMessage.objects.filter(state__in=ACTIVE_OUTBOX_STATES).count())
    return OutboxMessage.objects.filter(_due(now)).exists()
