"""Delivery tasks (queue consumer.webhooks): thin, idempotent, ids in."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from bankflow.celery import measure_at_start
from consumer.webhooks.services import (
    webhook_deliveries_sweep,
    webhook_message_deliver,
    webhooks_dead_measure,
)


@shared_task(
    name="consumer.webhooks.tasks.deliver",
    acks_late=True,
    reject_on_worker_lost=True,
    # HTTP failures are the schedule's business (recorded attempts); only a database
    # hiccup retries the task itself.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def deliver(message_id: str) -> None:
    webhook_message_deliver(message_id=message_id)


@shared_task(
    name="consumer.webhooks.tasks.sweep_deliveries",
    acks_late=True,
    soft_time_limit=30,
    time_limit=45,
    expires=30,
)
def sweep_deliveries() -> None:
    webhook_deliveries_sweep()


# The dead-messages gauge from the worker's start, not from the first sweep.
measure_at_start(webhooks_dead_measure)
