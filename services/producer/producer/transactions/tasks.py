"""Thin, idempotent tasks on ``producer.dispatch``: no arguments, re-read the database."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from bankflow.celery import measure_at_start
from bankflow.logging import correlation, get_logger
from producer.transactions.idempotency import idempotency_keys_purge
from producer.transactions.outbox import outbox_drain, outbox_sweep
from producer.transactions.services import webhook_receipts_purge

log = get_logger("producer.tasks")

# Below the default soft limit (CELERY_TASK_SOFT_TIME_LIMIT): a run hands over to a new one.
DRAIN_BUDGET_SECONDS = 30.0


@shared_task(bind=True, acks_late=True, soft_time_limit=90, time_limit=120)
def dispatch_outbox(self: Any) -> int:
    """Send due outbox rows to the consumer, a batch per request, until none are due."""
    # The intake request carries this task's id; each item carries its own correlation id.
    with correlation(self.request.id):
        claimed, more = outbox_drain(
            batch_size=settings.DISPATCH_BATCH_SIZE, budget_seconds=DRAIN_BUDGET_SECONDS
        )
    if more:
        dispatch_outbox.delay()
    return claimed


@shared_task(acks_late=True, soft_time_limit=20, time_limit=30, ignore_result=True)
def sweep_outbox() -> bool:
    """Beat, every few seconds: re-kick dispatch for rows a lost message left behind."""
    due = outbox_sweep()
    if due:
        dispatch_outbox.delay()
    return due


# Within the default limits (CELERY_TASK_TIME_LIMIT): the worker's termination grace period
# covers the longest task on it, and a 300 s purge outlived a 180 s grace (tests/deploy).
@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def purge_idempotency_keys() -> dict[str, int]:
    """Beat, hourly: forget expired Idempotency-Keys and old webhook receipts."""
    keys = idempotency_keys_purge()
    receipts = webhook_receipts_purge()
    log.info("purged", idempotency_keys=keys, webhook_receipts=receipts)
    return {"idempotency_keys": keys, "webhook_receipts": receipts}


# The backlog gauge from the worker's start, not from the first sweep.
measure_at_start(outbox_sweep)
