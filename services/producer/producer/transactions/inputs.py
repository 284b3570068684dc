"""A transaction as the API validated it, before it is stored (plain data, no Django)."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict


class TransactionInput(TypedDict):
    reference: str
    type: str
    amount: Decimal
    currency: str
    source_account: str | None
    destination_account: str | None
    description: str
