"""Reads on transactions, always scoped to the client."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Q, QuerySet

from bankflow.errors import NotFound
from producer.clients.models import Client
from producer.transactions.models import Transaction, TransactionEvent


def transaction_list(
    *,
    client: Client,
    status: str | None = None,
    type: str | None = None,
    currency: str | None = None,
    account: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Transaction]:
    qs = Transaction.objects.filter(client=client)
    if status:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    if currency:
        qs = qs.filter(currency=currency)
    if account:
        qs = qs.filter(Q(source_account=account) | Q(destination_account=account))
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs.order_by("-created_at", "-id")


def transaction_get(*, client: Client, transaction_id: uuid.UUID) -> Transaction:
    tx = Transaction.objects.filter(client=client, id=transaction_id).first()
    if tx is None:
        raise NotFound("No such transaction.")
    return tx


def transaction_events(*, client: Client, transaction_id: uuid.UUID) -> QuerySet[TransactionEvent]:
    """The transaction's audit trail, oldest first; another client's id is a 404."""
    if not Transaction.objects.filter(client=client, id=transaction_id).exists():
        raise NotFound("No such transaction.")
    return TransactionEvent.objects.filter(transaction_id=transaction_id).order_by("at", "id")
