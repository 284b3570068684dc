"""Reads from the ledger."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from bankflow.money import round_money
from consumer.ledger.models import Account, Entry


def account_balances(*, code: str) -> dict[str, Decimal] | None:
    """Balance per currency (sum of entries), or None when the ledger has no such account."""
    account = Account.objects.filter(code=code).first()
    if account is None:
        return None
    rows = (
        Entry.objects.filter(account=account)
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: round_money(row["total"], row["currency"]) for row in rows}


def ledger_totals() -> dict[str, Decimal]:
    """The sum of all entries per currency: zero everywhere in a healthy ledger."""
    rows = Entry.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    return {row["currency"]: row["total"] for row in rows}
