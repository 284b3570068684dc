"""Reads of the pipeline: a transaction as it stands, with its latest webhook message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet, prefetch_related_objects

from bankflow.errors import NotFound
from consumer.intake.models import ReceivedTransaction, Status
from consumer.webhooks.models import WebhookMessage
from consumer.webhooks.selectors import latest_message_for


def transaction_detail(*, transaction_id: UUID) -> dict[str, Any]:
    tx = ReceivedTransaction.objects.filter(id=transaction_id).first()
    if tx is None:
        raise NotFound("No such transaction.")
    return _detail(tx, latest_message_for(transaction=tx))


def _detail(tx: ReceivedTransaction, message: WebhookMessage | None) -> dict[str, Any]:
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
            for event in tx.events.all()  # oldest first (Meta.ordering); prefetched for lists
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


def transaction_list(
    *, status: str | None = None, decision: str | None = None, account: str | None = None
) -> QuerySet[ReceivedTransaction]:
    """Every received transaction matching the filters (``decision``: the current one)."""
    qs = ReceivedTransaction.objects.all()
    if status:
        qs = qs.filter(status=status)
    if decision:
        qs = qs.filter(status=Status.PROCESSED, result__decision=decision)
    if account:
        qs = qs.filter(Q(source_account=account) | Q(destination_account=account))
    return qs


def transaction_details(*, transactions: Sequence[ReceivedTransaction]) -> list[dict[str, Any]]:
    """``transaction_detail`` for a page of transactions, in three queries."""
    through = WebhookMessage.transactions.through
    latest: dict[UUID, WebhookMessage] = {}
    links = (
        through.objects.filter(receivedtransaction_id__in=[t.id for t in transactions])
        .select_related("webhookmessage")
        .order_by("webhookmessage__created_at")
    )
    for link in links:
        latest[link.receivedtransaction_id] = link.webhookmessage
    prefetch_related_objects(list(transactions), "events")
    return [_detail(tx, latest.get(tx.id)) for tx in transactions]
