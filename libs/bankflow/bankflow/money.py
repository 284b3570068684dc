"""Currencies (active ISO 4217 codes and their minor units), amounts and IBANs.

Amounts are ``Decimal`` end to end; rounding happens once, explicitly, with
``ROUND_HALF_EVEN``, where a fee or a conversion is computed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

import iso4217
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

MAX_AMOUNT = Decimal("1000000000")


@lru_cache(maxsize=1)
def _minor_units() -> dict[str, int]:
    # Codes without minor units (gold, SDR bookkeeping, test codes) are not money we move.
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}


def minor_units(currency: str) -> int:
    try:
        return _minor_units()[currency]
    except KeyError:
        raise ValueError(f"'{currency}' is not an active ISO 4217 currency code.") from None


def normalize_currency(value: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    minor_units(code)
    return code


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def parse_amount(value: object) -> Decimal:
    """A Decimal from a string or a number; floats go through str() so 0.1 stays 0.1."""
    if isinstance(value, bool) or value is None:
        raise ValueError("A valid decimal amount is required.")
    try:
        amount = (
            Decimal(str(value).strip()) if isinstance(value, str | int | float | Decimal) else None
        )
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValueError("A valid decimal amount is required.")
    return amount


def validate_amount(amount: Decimal, currency: str) -> Decimal:
    if amount <= 0:
        raise ValueError("Must be greater than zero.")
    if amount > MAX_AMOUNT:
        raise ValueError(f"Must be at most {MAX_AMOUNT:,}.")
    digits = minor_units(currency)
    if decimal_places(amount) > digits:
        raise ValueError(f"{currency} allows at most {digits} decimal places.")
    return round_money(amount, currency)


def decimal_places(amount: Decimal) -> int:
    """How many decimal places ``amount`` needs (trailing zeros do not count), exactly.

    Not ``normalize()``: it rounds to the context's 28 digits first, so that
    0.1000000000000000000000000000001 would count as 0.1 and pass as an amount in EUR.
    """
    _sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - zeros)


def normalize_iban(value: str) -> str:
    """The compact upper-case IBAN, or ValueError naming what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("An IBAN is required.")
    try:
        return IBAN(value.strip().upper()).compact
    except SchwiftyException as exc:
        raise ValueError(f"Not a valid IBAN: {exc}.") from None


def iban_country(iban: str) -> str:
    return iban[:2]
