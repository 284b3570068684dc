"""Realistic synthetic transactions for demos and load: valid IBANs from several countries,
log-normal amounts in each currency's minor units, mixed types, and a share of the
patterns the consumer's risk rules flag with their default settings (README, "Risk
rules"): IBANs in high-risk countries, amounts at or above the currency's large-amount
threshold, and bursts from one account beyond the velocity limit. Deterministic for a
given seed; plain data, no Django.

``item()`` says whether the consumer will flag the transaction, and it means exactly that
(tests/e2e/test_generator.py sends a sample through the stack and checks every label).
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
# The consumer's default RISK_HIGH_RISK_COUNTRIES that have IBANs (KP, MM and SY have none).
HIGH_RISK_COUNTRIES = ("IR", "YE", "RU", "BY", "LB", "VG")
# (currency, weight, median amount, the consumer's default RISK_LARGE_AMOUNTS threshold)
CURRENCIES = (
    ("EUR", 50, 80, 10_000),
    ("GBP", 15, 70, 10_000),
    ("USD", 20, 90, 10_000),
    ("CHF", 4, 85, 10_000),
    ("SEK", 3, 900, 100_000),
    ("JPY", 5, 12_000, 1_000_000),
    ("BHD", 2, 35, 4_000),
    ("KWD", 1, 30, 3_000),
)
# The consumer's default RISK_VELOCITY_LIMIT: more than this many from one account within
# the window is flagged, so a burst's transactions after the first LIMIT are.
VELOCITY_LIMIT = 20
BURST_LENGTH = VELOCITY_LIMIT + 5
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
# Share of each risky pattern (a burst starts with this share and lasts BURST_LENGTH).
RISKY_PATTERNS = (("large", 0.03), ("country", 0.04), ("burst", 0.002))


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

    def _amount(self, currency: str, median: int, threshold: int, *, large: bool) -> Decimal:
        digits = minor_units(currency)
        major = (
            threshold * self.rng.uniform(1.0, 50.0)
            if large
            else self.rng.lognormvariate(math.log(median), 1.1)
        )
        # Normal amounts stay below the structuring band under the threshold.
        major = major if large else min(major, threshold * 0.5)
        # Sampled in minor units (an integer), so the amount is a Decimal from the start.
        minor = max(1, int(major * 10**digits))
        return min(Decimal(minor).scaleb(-digits), MAX_AMOUNT)

    def _other(self, account: str | None) -> str:
        other = self.rng.choice(self._normal)
        while other == account:
            other = self.rng.choice(self._normal)
        return other

    def item(self) -> tuple[TransactionInput, bool]:
        """One transaction, and whether the consumer's default rules flag it."""
        draw, pattern = self.rng.random(), ""
        for name, share in RISKY_PATTERNS:
            if draw < share:
                pattern = name
                break
            draw -= share
        if pattern == "burst" and self._burst_left == 0:
            # A fresh account, so that its count is the burst's own.
            self._burst_account, self._burst_left = self._iban("DE"), BURST_LENGTH
        kind = self.rng.choices([t for t, _w in TYPES], weights=[w for _t, w in TYPES])[0]
        currency, _weight, median, threshold = self.rng.choices(
            CURRENCIES, weights=[w for _c, w, _m, _t in CURRENCIES]
        )[0]
        flagged = pattern in ("large", "country")
        if self._burst_left > 0:  # a burst: transfers from one account
            kind, account = TransactionType.TRANSFER, self._burst_account
            self._burst_left -= 1
            flagged = flagged or BURST_LENGTH - self._burst_left > VELOCITY_LIMIT
        else:
            account = self.rng.choice(self._risky if pattern == "country" else self._normal)
        # The account the pattern is about is the source, or a deposit's destination.
        if kind == TransactionType.DEPOSIT:
            source, destination = None, account
        elif kind == TransactionType.WITHDRAWAL:
            source, destination = account, None
        else:
            source, destination = account, self._other(account)
        data: TransactionInput = {
            "reference": f"GEN-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:16].upper()}",
            "type": kind,
            "amount": self._amount(currency, median, threshold, large=pattern == "large"),
            "currency": currency,
            "source_account": source,
            "destination_account": destination,
            "description": self.rng.choice(DESCRIPTIONS),
        }
        return data, flagged

    def items(self, count: int) -> Iterator[tuple[TransactionInput, bool]]:
        for _ in range(count):
            yield self.item()
