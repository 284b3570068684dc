"""Review tasks (queue consumer.process): thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from bankflow.celery import measure_at_start
from consumer.review.services import review_queue_measure


@shared_task(
    name="consumer.review.tasks.measure_queue",
    acks_late=True,
    soft_time_limit=30,
    time_limit=45,
    expires=60,
)
def measure_queue() -> None:
    review_queue_measure()


# The review-queue gauges from the worker's start, not a minute later.
measure_at_start(review_queue_measure)
