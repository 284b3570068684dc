"""Writes about webhook messages: create them for results, deliver, redeliver, sweep."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bankflow import wire
from bankflow.db import copy_rows, update_rows
from bankflow.logging import correlation, current_correlation_id, get_logger
from consumer.intake import events
from consumer.intake.models import FINAL_STATUSES, EventKind, ReceivedTransaction
from consumer.metrics import (
    WEBHOOK_ATTEMPT_SECONDS,
    WEBHOOK_ATTEMPTS,
    WEBHOOK_BATCH_SIZE,
    WEBHOOKS_DEAD,
)
from consumer.utils import chunked
from consumer.webhooks.client import Answer, post_signed
from consumer.webhooks.models import (
    DELIVERABLE_STATES,
    MessageState,
    WebhookAttempt,
    WebhookMessage,
)
from consumer.webhooks.retry import DEAD, DELIVERED, RETRY, classify, retry_delay
from consumer.webhooks.selectors import dead_message_count, due_message_ids
from consumer.webhooks.states import MESSAGE_STATES

log = get_logger(__name__)

MAX_RESULTS_PER_MESSAGE = 1000  # the producer's limit per message
# Longer waits are left to the sweep: RabbitMQ closes a channel that holds an unacked
# (ETA) message past its consumer_timeout, 30 minutes by default.
COUNTDOWN_LIMIT_SECONDS = 300
# A countdown task may fire a little before next_attempt_at by the clock it reads.
DUE_TOLERANCE = timedelta(seconds=1)
# The sweep leaves a due message to the task already on its way for this long.
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_LIMIT = 500


def new_message_id() -> str:
    return f"msg_{uuid.uuid4()}"


def transaction_result(tx: ReceivedTransaction) -> dict[str, Any]:
    """One entry of a ``transaction.results`` message (``bankflow.wire``)."""
    return wire.result_item(
        transaction_id=tx.id,
        status=tx.status,
        correlation_id=tx.correlation_id,
        result=tx.result,
        reason=tx.failure_reason,
    )


def webhook_messages_create(
    *, transactions: Sequence[ReceivedTransaction], type: str = wire.RESULTS
) -> list[WebhookMessage]:
    """One message per 1000 final results; delivery is enqueued when the caller commits.

    ``type=wire.REVIEW_RESOLVED`` for reviewers' final decisions (the same delivery,
    retries and redelivery as every other message).
    """
    final = [tx for tx in transactions if tx.status in FINAL_STATUSES]
    if not final:
        return []
    now = timezone.now()
    cid = current_correlation_id() or ""
    link = WebhookMessage.transactions.through
    messages, links = [], []
    for chunk in chunked(final, MAX_RESULTS_PER_MESSAGE):
        message = WebhookMessage(
            id=new_message_id(),
            payload=wire.results_message((transaction_result(t) for t in chunk), type=type),
            next_attempt_at=now,
            correlation_id=cid,
        )
        messages.append(message)
        links += [link(webhookmessage_id=message.id, receivedtransaction_id=t.id) for t in chunk]
    WebhookMessage.objects.bulk_create(messages)
    copy_rows(link, links, ["webhookmessage", "receivedtransaction"])
    for message in messages:
        WEBHOOK_BATCH_SIZE.observe(message.result_count)
    _enqueue_on_commit([m.id for m in messages])
    return messages


def webhook_message_deliver(*, message_id: str) -> str | None:
    """One attempt: claim the message, send it outside any database transaction, record it.

    The claim is a lease (``next_attempt_at`` moved past the request's timeout), so no other
    worker or sweep sends it meanwhile and no row lock or connection is held while the
    producer answers. A worker that dies mid-send leaves the lease to expire and the sweep
    to send again; the producer dedupes on the webhook-id. Returns the outcome, or None when
    there was nothing to do (delivered, dead, not due, or claimed by another worker).
    """
    claimed = _claim_for_delivery(message_id)
    if claimed is None:
        return None
    message, attempts = claimed
    with correlation(message.correlation_id or None, webhook_id=message.id):
        answer = post_signed(msg_id=message.id, payload=message.payload)
        outcome = _record_attempt(message.id, attempts, answer)
    WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
    WEBHOOK_ATTEMPT_SECONDS.observe(answer.duration_ms / 1000)
    return outcome


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + SWEEP_GRACE


def _claim_for_delivery(message_id: str) -> tuple[WebhookMessage, int] | None:
    now = timezone.now()
    with transaction.atomic():
        message = (
            WebhookMessage.objects.select_for_update(skip_locked=True)
            .filter(id=message_id, state__in=DELIVERABLE_STATES)
            .first()
        )
        if message is None:
            return None
        if message.next_attempt_at and message.next_attempt_at > now + DUE_TOLERANCE:
            return None  # not due yet, or leased to another worker
        message.next_attempt_at = now + _lease()
        message.save(update_fields=["next_attempt_at", "updated_at"])
    return message, message.attempts


def _record_attempt(message_id: str, attempts: int, answer: Answer) -> str:
    """Write the attempt and the message's next state, unless an operator's redelivery
    took the message over meanwhile (then only the attempt is kept, for the history)."""
    now = timezone.now()
    outcome = classify(answer.status_code, answer.code)
    delay = None
    with transaction.atomic():
        message = WebhookMessage.objects.select_for_update().get(id=message_id)
        ours = message.state in DELIVERABLE_STATES and message.attempts == attempts
        if ours:
            message.attempts += 1
            message.last_status_code = answer.status_code
            message.last_error = answer.error
            if outcome == RETRY:
                delay = retry_delay(
                    message.attempts,
                    settings.WEBHOOK_RETRY_SCHEDULE,
                    jitter=settings.WEBHOOK_RETRY_JITTER,
                )
                if delay is None:
                    outcome = DEAD  # the schedule is exhausted
            if outcome == DELIVERED:
                MESSAGE_STATES.apply(message, MessageState.DELIVERED)
                message.delivered_at, message.next_attempt_at = now, None
            elif outcome == RETRY and delay is not None:
                MESSAGE_STATES.apply(message, MessageState.RETRYING)
                message.next_attempt_at = now + timedelta(seconds=delay)
            else:
                MESSAGE_STATES.apply(message, MessageState.DEAD)
                message.next_attempt_at = None
            message.save(
                update_fields=[
                    "state",
                    "attempts",
                    "last_status_code",
                    "last_error",
                    "next_attempt_at",
                    "delivered_at",
                    "updated_at",
                ]
            )
            if outcome == RETRY and delay is not None and delay <= COUNTDOWN_LIMIT_SECONDS:
                _enqueue_on_commit([message.id], countdown=delay)
        WebhookAttempt.objects.create(
            message=message,
            status_code=answer.status_code,
            outcome=outcome,
            duration_ms=answer.duration_ms,
            error=answer.error,
        )
        events.record_many(
            _message_events(
                message,
                EventKind.WEBHOOK_ATTEMPT,
                detail={
                    "webhook_id": message.id,
                    "attempt": attempts + 1,
                    "outcome": outcome,
                    "status_code": answer.status_code,
                    **({"error": answer.error} if answer.error else {}),
                    **({} if ours else {"superseded": True}),
                },
                at=now,
            )
        )
    log.log(
        logging.WARNING if outcome == DEAD else logging.INFO,
        f"webhook_{outcome}",
        attempts=message.attempts,
        status_code=answer.status_code,
        duration_ms=answer.duration_ms,
        next_attempt_at=message.next_attempt_at.isoformat() if message.next_attempt_at else None,
        results=message.result_count,
        **({"error": answer.error} if answer.error else {}),
        **({} if ours else {"superseded": True}),
    )
    return outcome


def _message_events(
    message: WebhookMessage, kind: str, *, detail: dict[str, Any], actor: str = "", at: Any
) -> list[events.TransactionEvent]:
    """One event for each transaction a message carries. The results in the payload name
    the transactions and their (final) status: no query needed."""
    rows = []
    for item in message.payload.get("results", []):
        tx = ReceivedTransaction(
            id=item["transaction_id"],
            correlation_id=item.get("correlation_id") or message.correlation_id,
        )
        status = item.get("status", "")
        rows.append(
            events.event(tx, kind, previous=status, new=status, detail=detail, actor=actor, at=at)
        )
    return rows


def webhook_messages_redeliver(
    *, message_ids: Iterable[str] = (), dead: bool = False, actor: str = ""
) -> list[str]:
    """Back to ``pending`` with a fresh retry schedule, and sent at once.

    Takes dead messages (all of them with ``dead=True``) and retrying ones (sent now
    instead of waiting); delivered and pending messages are left alone. Returns the ids
    that were scheduled; the full history stays in the attempts.
    """
    wanted = Q(id__in=list(message_ids))
    if dead:
        wanted |= Q(state=MessageState.DEAD)
    now = timezone.now()
    with transaction.atomic():
        messages = list(WebhookMessage.objects.select_for_update().filter(wanted).order_by("id"))
        chosen = [m for m in messages if MESSAGE_STATES.can(m.state, MessageState.PENDING)]
        for message in chosen:
            MESSAGE_STATES.apply(message, MessageState.PENDING)
            message.attempts, message.next_attempt_at, message.updated_at = 0, now, now
        update_rows(WebhookMessage, chosen, ["state", "attempts", "next_attempt_at", "updated_at"])
        events.record_many(
            row
            for message in chosen
            for row in _message_events(
                message,
                EventKind.WEBHOOK_REDELIVERY,
                detail={"webhook_id": message.id},
                actor=actor,
                at=now,
            )
        )
        ids = [m.id for m in chosen]
        _enqueue_on_commit(ids)
    for message_id in ids:
        log.info("webhook_redelivery_scheduled", webhook_id=message_id)
    webhooks_dead_measure()
    return ids


def webhooks_dead_measure() -> None:
    WEBHOOKS_DEAD.set(dead_message_count())


def webhook_deliveries_sweep(*, limit: int = SWEEP_LIMIT) -> int:
    """Send what is due but whose task went missing, and publish the dead gauge.

    Each message it enqueues gets ``next_attempt_at = now``: a lease, so that a message
    still waiting in a long queue is enqueued again only after another grace period, not
    on every sweep (which would flood the queue exactly when it is already behind).
    """
    now = timezone.now()
    with transaction.atomic():
        ids = due_message_ids(now=now - SWEEP_GRACE, limit=limit)
        WebhookMessage.objects.filter(id__in=ids).update(next_attempt_at=now)
        _enqueue_on_commit(ids)
    dead = dead_message_count()
    WEBHOOKS_DEAD.set(dead)
    if ids:
        log.info("webhook_sweep", enqueued=len(ids), dead=dead)
    return len(ids)


def _enqueue_on_commit(message_ids: Sequence[str], countdown: float | None = None) -> None:
    from consumer.webhooks.tasks import deliver

    for message_id in message_ids:
        # DjangoTask (bankflow.celery.make_app); celery-types does not know the method
        deliver.apply_async_on_commit((message_id,), countdown=countdown)  # type: ignore[attr-defined]
