"""Reconciliation: the producer's processed transactions against the consumer's, per day
and currency (README, "Reconciliation").

For each UTC day (by the producer's ``created_at``) both sides count, sum the amounts and
sum the fees of the transactions they hold as processed, per currency, and list the ids.
What was created less than RECONCILIATION_SETTLE_SECONDS before the run is left out on both
sides (the consumer is asked with the same ``created_before``), so work in flight is not a
mismatch; failed and cancelled transactions are not compared. Each run is stored with its
lines, and exported as metrics once committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from django.db import transaction as db
from django.utils import timezone

from bankflow import reconciliation, wire
from bankflow.logging import get_logger, outgoing_headers
from producer.reconciliation import metrics
from producer.reconciliation.models import ReconciliationLine, ReconciliationRun, RunOutcome
from producer.transactions.models import Status, Transaction

log = get_logger("producer.reconciliation")


class ConsumerUnavailable(Exception):
    pass


@dataclass(frozen=True)
class DayComparison:
    day: date
    comparisons: list[reconciliation.Comparison]


def default_days(now: datetime | None = None) -> list[date]:
    """Yesterday and today, UTC."""
    today = (now or timezone.now()).astimezone(UTC).date()
    return [today - timedelta(days=1), today]


def producer_totals(*, day: date, created_before: datetime) -> dict[str, reconciliation.Totals]:
    start = datetime.combine(day, clock.min, tzinfo=UTC)
    end = min(start + timedelta(days=1), created_before)
    rows = (
        Transaction.objects.filter(
            status=Status.PROCESSED, created_at__gte=start, created_at__lt=end
        )
        .order_by()
        .values_list("id", "currency", "amount", "result__fee")
        .iterator(chunk_size=5000)
    )
    return reconciliation.totals(rows)


def consumer_totals(*, day: date, created_before: datetime) -> dict[str, reconciliation.Totals]:
    try:
        response = requests.get(
            f"{settings.CONSUMER_URL.rstrip('/')}/api/v1/reconciliation/",
            params={"date": day.isoformat(), "created_before": wire.iso_datetime(created_before)},
            headers={
                "Authorization": f"Bearer {settings.CONSUMER_API_TOKEN}",
                **outgoing_headers(),
            },
            timeout=settings.RECONCILIATION_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise ConsumerUnavailable(type(exc).__name__) from None
    if response.status_code != 200:
        raise ConsumerUnavailable(f"HTTP {response.status_code}")
    try:
        answer = wire.read_reconciliation_day(response.json())
    except (ValueError, wire.WireError) as exc:
        raise ConsumerUnavailable(f"unreadable answer: {exc}") from None
    return reconciliation.from_wire(answer["currencies"])


def reconciliation_run(
    *, days: Sequence[date], trigger: str, now: datetime | None = None
) -> tuple[ReconciliationRun, list[DayComparison]]:
    """Compare each day, store the run with one line per (day, currency), and count it."""
    started = now or timezone.now()
    created_before = started - timedelta(seconds=settings.RECONCILIATION_SETTLE_SECONDS)
    run = ReconciliationRun(
        started_at=started,
        trigger=trigger,
        days=[d.isoformat() for d in days],
        created_before=created_before,
    )
    results: list[DayComparison] = []
    try:
        for day in days:
            theirs = consumer_totals(day=day, created_before=created_before)
            ours = producer_totals(day=day, created_before=created_before)
            results.append(DayComparison(day, reconciliation.compare(ours, theirs)))
    except ConsumerUnavailable as exc:
        run.outcome, run.error = RunOutcome.ERROR, f"the consumer could not be asked: {exc}"
        results = []
    lines = [_line(run, day.day, comparison) for day in results for comparison in day.comparisons]
    run.matched = sum(1 for line in lines if line.matched)
    run.mismatched = len(lines) - run.matched
    if not run.error:
        run.outcome = RunOutcome.MISMATCHED if run.mismatched else RunOutcome.MATCHED
    run.finished_at = timezone.now()
    with db.atomic():
        run.save()
        for line in lines:
            line.run = run
        ReconciliationLine.objects.bulk_create(lines)
        db.on_commit(lambda: _record(run))
    return run, results


def _line(
    run: ReconciliationRun, day: date, comparison: reconciliation.Comparison
) -> ReconciliationLine:
    return ReconciliationLine(
        run=run,
        day=day,
        currency=comparison.currency,
        matched=comparison.matched,
        producer_count=comparison.ours.count,
        consumer_count=comparison.theirs.count,
        producer_amount=comparison.ours.amount_sum,
        consumer_amount=comparison.theirs.amount_sum,
        producer_fee=comparison.ours.fee_sum,
        consumer_fee=comparison.theirs.fee_sum,
        only_producer=[str(i) for i in comparison.only_ours],
        only_consumer=[str(i) for i in comparison.only_theirs],
    )


def _publish(run: ReconciliationRun | None) -> None:
    """The gauges from a completed run (none yet: nothing compared, nothing mismatched)."""
    metrics.pairs.labels(result="matched").set(run.matched if run else 0)
    metrics.pairs.labels(result="mismatched").set(run.mismatched if run else 0)
    if run is not None:
        finished = run.finished_at or run.started_at
        metrics.last_run.set(finished.timestamp())


def reconciliation_metrics_publish() -> None:
    """Set the gauges from the last run that reached the consumer (a worker starting)."""
    run = (
        ReconciliationRun.objects.exclude(outcome=RunOutcome.ERROR).order_by("-started_at").first()
    )
    _publish(run)


def _record(run: ReconciliationRun) -> None:
    metrics.runs.labels(outcome=run.outcome).inc()
    fields: dict[str, Any] = {
        "outcome": run.outcome,
        "days": run.days,
        "matched": run.matched,
        "mismatched": run.mismatched,
        "run_id": run.pk,
    }
    if run.outcome == RunOutcome.ERROR:
        log.error("reconciliation_failed", error=run.error, **fields)
        return
    _publish(run)
    if run.mismatched:
        log.warning("reconciliation_mismatched", **fields)
    else:
        log.info("reconciliation_matched", **fields)


def _money(value: Decimal, currency: str) -> str:
    """With the currency's minor units when that is exact (sums of amounts are), else all
    the digits there are: a mismatch must never be rounded away."""
    try:
        text = wire.amount_text(value, currency)
    except (ValueError, KeyError):
        return f"{value:f}"
    return text if Decimal(text) == value else f"{value:f}"


def describe(day: date, comparison: reconciliation.Comparison) -> str:
    """One line of the command's output."""
    ours, theirs, currency = comparison.ours, comparison.theirs, comparison.currency
    text = (
        f"{day.isoformat()} {currency} "
        f"{'matched' if comparison.matched else 'MISMATCHED'}"
        f" count {ours.count}/{theirs.count}"
        f" amount {_money(ours.amount_sum, currency)}/{_money(theirs.amount_sum, currency)}"
        f" fee {_money(ours.fee_sum, currency)}/{_money(theirs.fee_sum, currency)}"
    )
    if comparison.only_ours:
        text += f" only_producer {','.join(map(str, comparison.only_ours))}"
    if comparison.only_theirs:
        text += f" only_consumer {','.join(map(str, comparison.only_theirs))}"
    return text
