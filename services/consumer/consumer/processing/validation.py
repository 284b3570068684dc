"""The business rules a transaction must pass, repeated here whatever the producer checked.

A transaction that breaks one ends ``failed`` with the reason; it is never scored, priced
or posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from bankflow.money import normalize_currency, normalize_iban, validate_amount
from bankflow.wire import account_errors
from consumer.intake.models import ReceivedTransaction


class BusinessRuleViolation(ValueError):
    pass


@dataclass(frozen=True)
class ValidTransaction:
    id: UUID
    type: str
    amount: Decimal
    currency: str
    source: str | None
    destination: str | None
    occurred_at: datetime


def validate_transaction(row: ReceivedTransaction) -> ValidTransaction:
    """The normalised transaction, or BusinessRuleViolation naming every broken rule."""
    errors: list[str] = []
    currency = amount = None
    try:
        currency = normalize_currency(row.currency)
    except ValueError as exc:
        errors.append(f"currency: {exc}")
    if currency is not None:
        try:
            amount = validate_amount(Decimal(row.amount), currency)
        except ValueError as exc:
            errors.append(f"amount: {exc}")
    source = _account(row.source_account, "source_account", errors)
    destination = _account(row.destination_account, "destination_account", errors)
    # The normalised IBAN where it is valid, so that "DE89 …" and "de89…" count as one.
    for field, messages in account_errors(
        row.type,
        source or row.source_account or None,
        destination or row.destination_account or None,
    ).items():
        errors += [f"{field}: {message}" for message in messages]
    if errors or currency is None or amount is None:
        raise BusinessRuleViolation("; ".join(errors))
    return ValidTransaction(
        id=row.id,
        type=row.type,
        amount=amount,
        currency=currency,
        source=source,
        destination=destination,
        occurred_at=row.created_at or row.received_at,
    )


def _account(value: str, field: str, errors: list[str]) -> str | None:
    if not value:
        return None
    try:
        return normalize_iban(value)
    except ValueError as exc:
        errors.append(f"{field}: {exc}")
        return None
