"""Storing received transactions: idempotent on the producer's id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.utils import timezone

from bankflow import wire
from consumer.intake.models import ReceivedTransaction


@dataclass(frozen=True)
class StoreOutcome:
    accepted: list[UUID]  # new ids, in body order
    duplicates: list[UUID]  # ids received before
    rows: dict[UUID, ReceivedTransaction]  # what the body said, by id


def transactions_store(*, items: Sequence[wire.IntakeItem], correlation_id: str) -> StoreOutcome:
    """Insert the new transactions (``INSERT … ON CONFLICT DO NOTHING``); the caller's
    database transaction makes it atomic with what it does next.

    Every row is inserted with this call's token, so reading the token back tells new ids
    from duplicates exactly, even when two requests race. The same id twice in one body is
    one transaction.
    """
    token = uuid.uuid4()
    now = timezone.now()
    rows: dict[UUID, ReceivedTransaction] = {}
    for item in items:
        if item["id"] in rows:
            continue
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
            correlation_id=item.get("correlation_id") or correlation_id,
            intake_token=token,
            updated_at=now,
        )
    ids = list(rows)
    ReceivedTransaction.objects.bulk_create(rows.values(), ignore_conflicts=True)
    new = set(
        ReceivedTransaction.objects.filter(id__in=ids, intake_token=token).values_list(
            "id", flat=True
        )
    )
    return StoreOutcome(
        accepted=[i for i in ids if i in new],
        duplicates=[i for i in ids if i not in new],
        rows=rows,
    )
