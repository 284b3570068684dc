"""Risk scoring: small pure rules, each adding points and a reason.

A rule looks only at ``Facts`` (the transaction plus the signals gathered for its batch,
see ``consumer.processing.signals``) and the ``RiskConfig``; it returns a ``Hit`` or None.
The score is the sum of the points, clamped to 0-100; the decision compares it with the
two thresholds: below review -> approved, at or above decline -> declined, else review.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings

from bankflow.money import iban_country

APPROVED, REVIEW, DECLINED = "approved", "review", "declined"

DEFAULT_POINTS: dict[str, int] = {
    "large_amount": 35,  # amount >= the currency's large-amount threshold
    "very_large_amount": 70,  # amount >= 10 x that threshold (instead of large_amount)
    "just_below_threshold": 25,  # within the structuring band under the threshold
    "round_amount": 10,  # a multiple of a tenth of the threshold, at least that tenth
    "unlisted_currency": 10,  # no threshold configured: the amount rules cannot judge it
    "high_velocity": 30,  # more than the limit from one account within the window
    "high_risk_country": 45,  # either IBAN in a high-risk country
    "cross_border": 5,  # source and destination IBAN countries differ
    "new_counterparty": 10,  # first transfer/payment from this source to this destination
}


@dataclass(frozen=True)
class RiskConfig:
    review_threshold: int = 50
    decline_threshold: int = 80
    large_amounts: Mapping[str, Decimal] = field(default_factory=dict)
    high_risk_countries: frozenset[str] = frozenset()
    velocity_window_seconds: int = 600
    velocity_limit: int = 20
    structuring_band: Decimal = Decimal("0.10")
    points: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_POINTS))

    def __post_init__(self) -> None:
        # A threshold of 0 made round_amount divide by zero: every batch holding that
        # currency crashed (found by the property tests). Refuse it where it is configured.
        bad = sorted(code for code, value in self.large_amounts.items() if not value > 0)
        if bad:
            raise ValueError(f"RISK_LARGE_AMOUNTS must be positive: {', '.join(bad)}")

    @classmethod
    def from_settings(cls) -> RiskConfig:
        return cls(
            review_threshold=settings.RISK_REVIEW_THRESHOLD,
            decline_threshold=settings.RISK_DECLINE_THRESHOLD,
            large_amounts={
                code.upper(): Decimal(str(value))
                for code, value in settings.RISK_LARGE_AMOUNTS.items()
            },
            high_risk_countries=frozenset(c.upper() for c in settings.RISK_HIGH_RISK_COUNTRIES),
            velocity_window_seconds=settings.RISK_VELOCITY_WINDOW_SECONDS,
            velocity_limit=settings.RISK_VELOCITY_LIMIT,
            structuring_band=Decimal(settings.RISK_STRUCTURING_BAND),
            points={**DEFAULT_POINTS, **settings.RISK_POINTS},
        )


@dataclass(frozen=True)
class Facts:
    type: str
    amount: Decimal
    currency: str
    source: str | None
    destination: str | None
    velocity_count: int = 0  # transactions from the same account within the window
    new_counterparty: bool = False


@dataclass(frozen=True)
class Hit:
    points: int
    reason: str


@dataclass(frozen=True)
class Assessment:
    score: int
    reasons: list[str]
    decision: str


Rule = Callable[[Facts, RiskConfig], Hit | None]


def _hit(config: RiskConfig, name: str, detail: Any = None) -> Hit:
    return Hit(config.points[name], name if detail is None else f"{name}:{detail}")


def large_amount(facts: Facts, config: RiskConfig) -> Hit | None:
    threshold = config.large_amounts.get(facts.currency)
    if threshold is None:
        return None
    if facts.amount >= threshold * 10:
        return _hit(config, "very_large_amount")
    if facts.amount >= threshold:
        return _hit(config, "large_amount")
    return None


def just_below_threshold(facts: Facts, config: RiskConfig) -> Hit | None:
    """Structuring: amounts kept just under the threshold to stay out of sight."""
    threshold = config.large_amounts.get(facts.currency)
    if threshold is None:
        return None
    if threshold * (1 - config.structuring_band) <= facts.amount < threshold:
        return _hit(config, "just_below_threshold")
    return None


def round_amount(facts: Facts, config: RiskConfig) -> Hit | None:
    threshold = config.large_amounts.get(facts.currency)
    if threshold is None:
        return None
    unit = threshold / 10
    if facts.amount >= unit and facts.amount % unit == 0:
        return _hit(config, "round_amount")
    return None


def unlisted_currency(facts: Facts, config: RiskConfig) -> Hit | None:
    if facts.currency in config.large_amounts:
        return None
    return _hit(config, "unlisted_currency", facts.currency)


def high_velocity(facts: Facts, config: RiskConfig) -> Hit | None:
    if facts.velocity_count > config.velocity_limit:
        return _hit(
            config, "high_velocity", f"{facts.velocity_count}/{config.velocity_window_seconds}s"
        )
    return None


def high_risk_country(facts: Facts, config: RiskConfig) -> Hit | None:
    countries = sorted(
        {iban_country(iban) for iban in (facts.source, facts.destination) if iban}
        & config.high_risk_countries
    )
    if countries:
        return _hit(config, "high_risk_country", ",".join(countries))
    return None


def cross_border(facts: Facts, config: RiskConfig) -> Hit | None:
    source, destination = facts.source, facts.destination
    if source and destination and iban_country(source) != iban_country(destination):
        return _hit(config, "cross_border")
    return None


def new_counterparty(facts: Facts, config: RiskConfig) -> Hit | None:
    return _hit(config, "new_counterparty") if facts.new_counterparty else None


RULES: tuple[Rule, ...] = (
    large_amount,
    just_below_threshold,
    round_amount,
    unlisted_currency,
    high_velocity,
    high_risk_country,
    cross_border,
    new_counterparty,
)


def decide(score: int, config: RiskConfig) -> str:
    if score >= config.decline_threshold:
        return DECLINED
    if score >= config.review_threshold:
        return REVIEW
    return APPROVED


def assess(facts: Facts, config: RiskConfig, rules: tuple[Rule, ...] = RULES) -> Assessment:
    hits = [hit for rule in rules if (hit := rule(facts, config)) is not None]
    score = max(0, min(100, sum(hit.points for hit in hits)))
    return Assessment(score=score, reasons=[h.reason for h in hits], decision=decide(score, config))
