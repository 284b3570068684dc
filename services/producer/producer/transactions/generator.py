"""Realistic synthetic transactions for demos and load: valid IBANs from several countries,
log-normal amounts in each currency's minor units, mixed types, and a share of the
patterns a risk engine should notice (very large amounts, bursts from one account,
high-risk countries). Deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from schwifty import IBAN

from bankflow.money import MAX_AMOUNT, minor_units
from bankflow.wire import TransactionType
from producer.transactions.inputs import TransactionInput

COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "BE", "AT", "IE", "GB", "CH", "SE", "PL", "PT", "LU")
HIGH_RISK_COUNTRIES = ("AE", "TR", "CY", "MT", "PK", "LB", "IR", "RU", "BY", "VG")
# (currency, weight, median amount in that currency)
CURRENCIES = (
    ("EUR", 50, 80),
    ("GBP", 15, 70),
    ("USD", 20, 90),
    ("CHF", 4, 85),
    ("SEK", 3, 900),
    ("JPY", 5, 12_000),
    ("BHD", 2, 35),
    ("KWD", 1, 30),
)
TYPES = (
    (TransactionType.TRANSFER, 45),
    (TransactionType.PAYMENT, 35),
    (TransactionType.DEPOSIT, 10),
    (TransactionType.WITHDRAWAL, 10),
)
DESCRIPTIONS = (
    "rent",
    "invoice",
    "salary",
    "groceries",
    "subscription",
    "refund",
    "utilities",
    "consulting fee",
    "",
)
# Share of each risky pattern; a burst is BURST_LENGTH transactions from one account.
RISKY_PATTERNS = (("large", 0.03), ("country", 0.04), ("burst", 0.002))
BURST_LENGTH = 15


@dataclass
class Generator:
    seed: int | None = None
    accounts: int = 500
    rng: random.Random = field(init=False)
    _normal: list[str] = field(init=False)
    _risky: list[str] = field(init=False)
    _burst_left: int = field(default=0, init=False)
    _burst_account: str = field(default="", init=False)

    def __post_init__(self) -> None:
        # Synthetic data, not security: a seeded PRNG is what we want here.
        self.rng = random.Random(self.seed)  # noqa: S311
        self._normal = [self._iban(self.rng.choice(COUNTRIES)) for _ in range(self.accounts)]
        self._risky = [self._iban(c) for c in HIGH_RISK_COUNTRIES for _ in range(3)]

    def _iban(self, country: str) -> str:
        return IBAN.random(country_code=country, random=self.rng).compact

    def _amount(self, currency: str, median: int, *, large: bool) -> Decimal:
        digits = minor_units(currency)
        major = (
            self.rng.uniform(100_000, 50_000_000)
            if large
            else self.rng.lognormvariate(math.log(median), 1.1)
        )
        # Sampled in minor units (an integer), so the amount is a Decimal from the start.
        minor = max(1, int(major * 10**digits))
        return min(Decimal(minor).scaleb(-digits), MAX_AMOUNT)

    def _account(self, *, risky: bool) -> str:
        if self._burst_left > 0:
            self._burst_left -= 1
            return self._burst_account
        return self.rng.choice(self._risky if risky else self._normal)

    def item(self) -> tuple[TransactionInput, bool]:
        """One transaction and whether it carries a risky pattern."""
        draw, pattern = self.rng.random(), ""
        for name, share in RISKY_PATTERNS:
            if draw < share:
                pattern = name
                break
            draw -= share
        if pattern == "burst" and self._burst_left == 0:
            self._burst_account, self._burst_left = self.rng.choice(self._normal), BURST_LENGTH
        kind = self.rng.choices([t for t, _w in TYPES], weights=[w for _t, w in TYPES])[0]
        currency, _weight, median = self.rng.choices(
            CURRENCIES, weights=[w for _c, w, _m in CURRENCIES]
        )[0]
        source = self._account(risky=pattern == "country")
        destination = self.rng.choice(self._normal)
        while destination == source:
            destination = self.rng.choice(self._normal)
        if kind == TransactionType.DEPOSIT:
            source = None  # type: ignore[assignment]
        elif kind == TransactionType.WITHDRAWAL:
            destination = None  # type: ignore[assignment]
        data: TransactionInput = {
            "reference": f"GEN-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:16].upper()}",
            "type": kind,
            "amount": self._amount(currency, median, large=pattern == "large"),
            "currency": currency,
            "source_account": source,
            "destination_account": destination,
            "description": self.rng.choice(DESCRIPTIONS),
        }
        return data, bool(pattern) or self._burst_left > 0

    def items(self, count: int) -> Iterator[tuple[TransactionInput, bool]]:
        for _ in range(count):
            yield self.item()
