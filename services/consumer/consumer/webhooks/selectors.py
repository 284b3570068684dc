"""Reads about webhook messages."""

from __future__ import annotations

from datetime import datetime

from consumer.intake.models import ReceivedTransaction
from consumer.webhooks.models import DELIVERABLE_STATES, MessageState, WebhookMessage


def latest_message_for(*, transaction: ReceivedTransaction) -> WebhookMessage | None:
    return transaction.webhook_messages.order_by("-created_at").first()


def due_message_ids(*, now: datetime, limit: int) -> list[str]:
    return list(
        WebhookMessage.objects.filter(state__in=DELIVERABLE_STATES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def dead_message_count() -> int:
    return WebhookMessage.objects.filter(state=MessageState.DEAD).count()
