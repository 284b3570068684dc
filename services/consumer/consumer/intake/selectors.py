"""Reads on received transactions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bankflow.reconciliation import Totals, totals
from consumer.intake.models import ReceivedTransaction, Status


def reconciliation_totals(*, day: date, created_before: datetime | None = None) -> list[Totals]:
    """Per currency, what this side processed (whatever the decision) of the transactions
    the producer created on ``day`` (UTC), before ``created_before`` if given."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    if created_before is not None:
        end = min(end, created_before)
    rows = (
        ReceivedTransaction.objects.filter(
            status=Status.PROCESSED, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values_list("id", "currency", "amount", "result__fee")
        .iterator(chunk_size=5000)
    )
    return [t for _, t in sorted(totals(rows).items())]
