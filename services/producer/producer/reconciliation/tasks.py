"""The hourly reconciliation (beat), on the producer's worker."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

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


@worker_ready.connect
def _publish_last_run(**_: Any) -> None:
    """The worker exports the last run's figures from the start, not an hour later."""
    from django.db import connection

    try:
        reconciliation_metrics_publish()
    except Exception:  # the database may not answer yet: the next run sets them
        log.warning("reconciliation_metrics_not_published", exc_info=True)
    finally:
        connection.close()  # the parent's connection is not the pool children's
