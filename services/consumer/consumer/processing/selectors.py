"""Reads of the pipeline: a transaction as it stands, with its latest webhook message."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from bankflow.errors import NotFound
from consumer.intake.models import ReceivedTransaction
from consumer.webhooks.selectors import latest_message_for


def transaction_detail(*, transaction_id: UUID) -> dict[str, Any]:
    tx = ReceivedTransaction.objects.filter(id=transaction_id).first()
    if tx is None:
        raise NotFound("No such transaction.")
    message = latest_message_for(transaction=tx)
    return {
        "events": [
            {
                "at": event.at,
                "type": event.kind,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "detail": event.detail,
                "correlation_id": event.correlation_id,
                "actor": event.actor,
            }
            for event in tx.events.order_by("at", "id")
        ],
        "id": tx.id,
        "status": tx.status,
        "result": tx.result,
        "failure_reason": tx.failure_reason or None,
        "webhook": None
        if message is None
        else {
            "state": message.state,
            "attempts": message.attempts,
            "last_status_code": message.last_status_code,
        },
    }
