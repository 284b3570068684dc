"""Processing tasks (queue consumer.process): thin, idempotent, lists of ids in."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from consumer.processing.services import transactions_process, transactions_sweep_stuck


@shared_task(
    name="consumer.processing.tasks.process_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, RedisError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,  # after that the sweep finds the rows again
    soft_time_limit=60,
    time_limit=90,
)
def process_batch(ids: list[str]) -> None:
    transactions_process(transaction_ids=ids)


@shared_task(
    name="consumer.processing.tasks.sweep_stuck",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    expires=60,
)
def sweep_stuck() -> None:
    transactions_sweep_stuck()
