"""Template filters of the console."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from bankflow import wire

register = template.Library()


@register.filter
def money(amount: object, currency: str) -> str:
    """The amount with exactly the currency's minor units ("100.00", "100", "1.250")."""
    try:
        return wire.amount_text(Decimal(str(amount)), currency)
    except (InvalidOperation, ValueError, KeyError):
        return str(amount)  # not a currency the money rules know: as stored
