"""The hourly reconciliation (beat), on the producer's worker."""

from __future__ import annotations

from celery import shared_task

from bankflow.celery import measure_at_start
from bankflow.logging import get_logger
from producer.reconciliation.services import (
    default_days,
    reconciliation_metrics_publish,
    reconciliation_run,
)

log = get_logger("producer.reconciliation")


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120, ignore_result=True)
def reconcile() -> dict[str, object]:
    """Beat, hourly: yesterday and today (UTC), stored and exported like the command's."""
    run, _ = reconciliation_run(days=default_days(), trigger="beat")
    return {"outcome": run.outcome, "matched": run.matched, "mismatched": run.mismatched}


# The worker exports the last run's figures from its start, not an hour later.
measure_at_start(reconciliation_metrics_publish)
