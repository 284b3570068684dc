"""Reconciliation, the arithmetic both sides share: totals per currency, and the compare.

A day's transactions on each side become, per currency, a count, the sum of the amounts,
the sum of the fees and the set of ids. A (day, currency) pair matches when all four agree;
otherwise the ids on one side only are named (at most ``ID_LIMIT`` per side). Decimal
throughout: ``1.50`` and ``1.500000`` are the same amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

ID_LIMIT = 100


@dataclass
class Totals:
    currency: str
    count: int = 0
    amount_sum: Decimal = Decimal(0)
    fee_sum: Decimal = Decimal(0)
    ids: set[UUID] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "count": self.count,
            "amount_sum": self.amount_sum,
            "fee_sum": self.fee_sum,
            "ids": sorted(self.ids, key=str),
        }


def fee_value(fee: Any) -> Decimal:
    """A result's fee (a decimal string; absent or bad counts as 0, which then shows as a
    fee mismatch against the other side rather than as an error)."""
    if fee is None or fee == "":
        return Decimal(0)
    try:
        return Decimal(str(fee))
    except InvalidOperation:
        return Decimal(0)


def totals(rows: Iterable[tuple[Any, str, Decimal, Any]]) -> dict[str, Totals]:
    """(id, currency, amount, fee) rows -> Totals per currency."""
    by_currency: dict[str, Totals] = {}
    for tx_id, currency, amount, fee in rows:
        entry = by_currency.setdefault(currency, Totals(currency))
        entry.count += 1
        entry.amount_sum += Decimal(amount)
        entry.fee_sum += fee_value(fee)
        entry.ids.add(tx_id if isinstance(tx_id, UUID) else UUID(str(tx_id)))
    return by_currency


def from_wire(currencies: Iterable[Mapping[str, Any]]) -> dict[str, Totals]:
    """The other side's answer (``bankflow.wire.read_reconciliation_day``) as Totals."""
    return {
        c["currency"]: Totals(
            currency=c["currency"],
            count=c["count"],
            amount_sum=Decimal(c["amount_sum"]),
            fee_sum=Decimal(c["fee_sum"]),
            ids={i if isinstance(i, UUID) else UUID(str(i)) for i in c["ids"]},
        )
        for c in currencies
    }


@dataclass(frozen=True)
class Comparison:
    currency: str
    ours: Totals
    theirs: Totals
    only_ours: list[UUID]
    only_theirs: list[UUID]

    @property
    def matched(self) -> bool:
        return (
            self.ours.count == self.theirs.count
            and self.ours.amount_sum == self.theirs.amount_sum
            and self.ours.fee_sum == self.theirs.fee_sum
            and not self.only_ours
            and not self.only_theirs
        )


def compare(
    ours: Mapping[str, Totals], theirs: Mapping[str, Totals], *, limit: int = ID_LIMIT
) -> list[Comparison]:
    """One Comparison per currency either side has, in currency order."""
    out = []
    for currency in sorted(set(ours) | set(theirs)):
        a = ours.get(currency) or Totals(currency)
        b = theirs.get(currency) or Totals(currency)
        out.append(
            Comparison(
                currency=currency,
                ours=a,
                theirs=b,
                only_ours=sorted(a.ids - b.ids, key=str)[:limit],
                only_theirs=sorted(b.ids - a.ids, key=str)[:limit],
            )
        )
    return out
