"""Which legs an approved transaction posts: pure functions, no database.

transfer/payment: source -amount, destination +amount
deposit:          settlement -amount, destination +amount
withdrawal:       source -amount, settlement +amount
fee (if > 0):     payer -fee, fee income +fee (the payer is the source, or for a deposit
                  the destination)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from consumer.ledger.models import AccountKind, Leg


@dataclass(frozen=True)
class AccountRef:
    code: str
    kind: str
    currency: str = ""


def customer(iban: str) -> AccountRef:
    return AccountRef(iban, AccountKind.CUSTOMER)


def settlement(currency: str) -> AccountRef:
    return AccountRef(f"SETTLEMENT-{currency}", AccountKind.SETTLEMENT, currency)


def fee_income(currency: str) -> AccountRef:
    return AccountRef(f"FEES-{currency}", AccountKind.FEE_INCOME, currency)


@dataclass(frozen=True)
class Posting:
    transaction_id: UUID
    leg: str
    account: AccountRef
    currency: str
    amount: Decimal


class UnbalancedPosting(Exception):
    pass


def postings_for(
    *,
    transaction_id: UUID,
    type: str,
    amount: Decimal,
    fee: Decimal,
    currency: str,
    source: str | None,
    destination: str | None,
) -> list[Posting]:
    if type == "deposit":
        debit, credit, payer = settlement(currency), customer(_need(destination)), destination
    elif type == "withdrawal":
        debit, credit, payer = customer(_need(source)), settlement(currency), source
    else:  # transfer, payment
        debit, credit, payer = customer(_need(source)), customer(_need(destination)), source
    legs = [
        Posting(transaction_id, Leg.DEBIT, debit, currency, -amount),
        Posting(transaction_id, Leg.CREDIT, credit, currency, amount),
    ]
    if fee > 0:
        legs += [
            Posting(transaction_id, Leg.FEE_DEBIT, customer(_need(payer)), currency, -fee),
            Posting(transaction_id, Leg.FEE_CREDIT, fee_income(currency), currency, fee),
        ]
    return legs


def check_balanced(postings: list[Posting]) -> None:
    """Every transaction's legs sum to zero per currency."""
    totals: dict[tuple[UUID, str], Decimal] = {}
    for p in postings:
        key = (p.transaction_id, p.currency)
        totals[key] = totals.get(key, Decimal(0)) + p.amount
    unbalanced = {key: total for key, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedPosting(f"postings do not balance: {unbalanced}")


def _need(iban: str | None) -> str:
    if not iban:
        raise ValueError("this transaction type needs that account")
    return iban
