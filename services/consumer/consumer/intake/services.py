"""Receiving transactions: idempotent on the producer's id, batched all the way."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from bankflow.logging import current_correlation_id, get_logger
from consumer.intake.models import FINAL_STATUSES, ReceivedTransaction
from consumer.metrics import TRANSACTIONS_RECEIVED
from consumer.processing.services import enqueue_processing
from consumer.webhooks.services import webhook_messages_create

log = get_logger(__name__)


@dataclass(frozen=True)
class IntakeOutcome:
    accepted: list[UUID]
    duplicates: list[UUID]


def transactions_receive(*, items: Sequence[dict[str, Any]]) -> IntakeOutcome:
    """Store new transactions and enqueue their processing, in one commit.

    A duplicate id is not processed again; if its result is final, the result is sent
    again in a new webhook message (a producer that lost it, or re-dispatched, converges).
    """
    token = uuid.uuid4()
    now = timezone.now()
    request_cid = current_correlation_id() or ""
    rows: dict[UUID, ReceivedTransaction] = {}
    for item in items:
        if item["id"] in rows:
            continue  # the same id twice in one body is one transaction
        rows[item["id"]] = ReceivedTransaction(
            id=item["id"],
            reference=item.get("reference") or "",
            type=item["type"],
            amount=item["amount"],
            currency=item["currency"].upper(),
            source_account=item.get("source_account") or "",
            destination_account=item.get("destination_account") or "",
            description=item.get("description") or "",
            created_at=item.get("created_at"),
            client_id=item.get("client_id"),
            correlation_id=item.get("correlation_id") or request_cid,
            intake_token=token,
            updated_at=now,
        )
    ids = list(rows)
    with transaction.atomic():
        ReceivedTransaction.objects.bulk_create(rows.values(), ignore_conflicts=True)
        new = set(
            ReceivedTransaction.objects.filter(id__in=ids, intake_token=token).values_list(
                "id", flat=True
            )
        )
        accepted = [i for i in ids if i in new]
        duplicates = [i for i in ids if i not in new]
        enqueue_processing(accepted)
        final = list(
            ReceivedTransaction.objects.filter(id__in=duplicates, status__in=FINAL_STATUSES)
        )
        webhook_messages_create(transactions=final)
    TRANSACTIONS_RECEIVED.inc(len(accepted))
    for tx_id in accepted:  # one event per state change, each under its own correlation id
        log.info(
            "transaction_received",
            transaction_id=str(tx_id),
            correlation_id=rows[tx_id].correlation_id,
        )
    log.info(
        "transactions_received",
        accepted=len(accepted),
        duplicates=len(duplicates),
        resent=len(final),
    )
    return IntakeOutcome(accepted=accepted, duplicates=duplicates)
