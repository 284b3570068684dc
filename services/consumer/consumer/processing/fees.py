"""The fee schedule: per transaction type and currency, a percentage plus a fixed part,
bounded by a minimum and a maximum, rounded once to the currency's minor units
(ROUND_HALF_EVEN).

A schedule maps ``type -> currency | "*" -> {"percent", "fixed", "min", "max"}``; amounts are
in the currency's major units and written as strings. The currency's own entry wins over
``"*"``; a type without an entry costs nothing. Zero-decimal currencies need their own
entries (a fixed part of 0.25 rounds to 0 JPY).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from bankflow.money import round_money

DEFAULT_SCHEDULE: dict[str, dict[str, dict[str, str]]] = {
    "transfer": {
        "*": {"percent": "0.20", "fixed": "0.25", "min": "0.50", "max": "20.00"},
        "JPY": {"percent": "0.20", "fixed": "30", "min": "50", "max": "3000"},
    },
    "payment": {
        "*": {"percent": "1.40", "fixed": "0.25", "min": "0.25", "max": "50.00"},
        "JPY": {"percent": "1.40", "fixed": "30", "min": "30", "max": "7500"},
    },
    "deposit": {"*": {"percent": "0", "fixed": "0"}},
    "withdrawal": {
        "*": {"percent": "0", "fixed": "2.00"},
        "JPY": {"percent": "0", "fixed": "250"},
    },
}


def _amount(value: Any, key: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"fee {key} is not a decimal: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"fee {key} must be a finite number ≥ 0, not {value!r}")
    return amount


@dataclass(frozen=True)
class FeeRule:
    percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)
    minimum: Decimal = Decimal(0)
    maximum: Decimal | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> FeeRule:
        unknown = set(raw) - {"percent", "fixed", "min", "max"}
        if unknown:
            raise ValueError(f"unknown fee keys: {sorted(unknown)}")
        maximum = raw.get("max")
        rule = cls(
            percent=_amount(raw.get("percent", "0"), "percent"),
            fixed=_amount(raw.get("fixed", "0"), "fixed"),
            minimum=_amount(raw.get("min", "0"), "min"),
            maximum=None if maximum is None else _amount(maximum, "max"),
        )
        # min > max would charge the maximum, below the rule's own minimum: say so instead.
        if rule.maximum is not None and rule.minimum > rule.maximum:
            raise ValueError(f"fee min {rule.minimum} is above max {rule.maximum}")
        return rule

    def fee(self, amount: Decimal, currency: str) -> Decimal:
        raw = amount * self.percent / 100 + self.fixed
        raw = max(raw, self.minimum)
        if self.maximum is not None:
            raw = min(raw, self.maximum)
        return round_money(raw, currency)  # the one rounding


class FeeSchedule:
    def __init__(self, schedule: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        self.rules = {
            type_: {currency.upper(): FeeRule.parse(rule) for currency, rule in rules.items()}
            for type_, rules in schedule.items()
        }

    @classmethod
    def from_settings(cls) -> FeeSchedule:
        return cls(settings.FEE_SCHEDULE or DEFAULT_SCHEDULE)

    def rule(self, type_: str, currency: str) -> FeeRule | None:
        rules = self.rules.get(type_, {})
        return rules.get(currency) or rules.get("*")

    def fee(self, *, type_: str, amount: Decimal, currency: str) -> Decimal:
        rule = self.rule(type_, currency)
        return rule.fee(amount, currency) if rule else round_money(Decimal(0), currency)
