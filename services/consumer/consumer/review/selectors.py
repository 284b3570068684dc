"""Reads of the review queue: what waits for a person, oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from consumer.intake.models import ReceivedTransaction, Status
from consumer.review.states import REVIEW


def review_queue() -> QuerySet[ReceivedTransaction]:
    """Every transaction whose current decision is ``review``, held longest first."""
    return ReceivedTransaction.objects.filter(
        status=Status.PROCESSED, result__decision=REVIEW
    ).order_by("processed_at", "id")


@dataclass(frozen=True)
class QueueSummary:
    size: int
    overdue: int  # waiting longer than REVIEW_MAX_AGE_HOURS
    oldest: ReceivedTransaction | None

    @property
    def oldest_age(self) -> timedelta | None:
        if self.oldest is None or self.oldest.processed_at is None:
            return None
        return timezone.now() - self.oldest.processed_at


def review_queue_summary(*, now: datetime | None = None) -> QueueSummary:
    queue = review_queue()
    cutoff = (now or timezone.now()) - timedelta(hours=settings.REVIEW_MAX_AGE_HOURS)
    return QueueSummary(
        size=queue.count(),
        overdue=queue.filter(processed_at__lt=cutoff).count(),
        oldest=queue.first(),
    )
