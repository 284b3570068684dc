"""The hourly reconciliation (beat), on the producer's worker."""

from __future__ import annotations

from celery import shared_task

from producer.reconciliation.services import default_days, reconciliation_run


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120, ignore_result=True)
def reconcile() -> dict[str, object]:
    """Beat, hourly: yesterday and today (UTC), stored and exported like the command's."""
    run, _ = reconciliation_run(days=default_days(), trigger="beat")
    return {"outcome": run.outcome, "matched": run.matched, "mismatched": run.mismatched}
