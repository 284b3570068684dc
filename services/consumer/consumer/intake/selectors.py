"""Reads for the intake API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consumer.intake.models import ReceivedTransaction
from consumer.webhooks.selectors import latest_message_for


def transaction_detail(*, transaction_id: UUID) -> dict[str, Any] | None:
    tx = ReceivedTransaction.objects.filter(id=transaction_id).first()
    if tx is None:
        return None
    message = latest_message_for(transaction=tx)
    return {
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
