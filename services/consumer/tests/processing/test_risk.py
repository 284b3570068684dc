from decimal import Decimal

import pytest

from consumer.processing import risk
from consumer.processing.risk import DEFAULT_POINTS, Facts, RiskConfig, assess, decide
from tests.factories import DE, FR

CONFIG = RiskConfig(
    large_amounts={"EUR": Decimal("10000"), "JPY": Decimal("1000000")},
    high_risk_countries=frozenset({"IR", "RU"}),
    velocity_limit=3,
    velocity_window_seconds=600,
)
RU = "RU0900000000000000000001111111111"


def facts(**overrides):
    base = {
        "type": "transfer",
        "amount": Decimal("100.00"),
        "currency": "EUR",
        "source": DE,
        "destination": "DE75512108001245126199",
    }
    return Facts(**{**base, **overrides})


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("9999.99", None),
        ("10000.00", "large_amount"),
        ("99999.99", "large_amount"),
        ("100000", "very_large_amount"),
    ],
)
def test_large_amount_is_judged_against_the_currency_threshold(amount, reason):
    hit = risk.large_amount(facts(amount=Decimal(amount)), CONFIG)

    assert (hit.reason if hit else None) == reason


def test_large_amount_uses_each_currency_own_threshold():
    assert risk.large_amount(facts(amount=Decimal("20000"), currency="JPY"), CONFIG) is None
    hit = risk.large_amount(facts(amount=Decimal("1000000"), currency="JPY"), CONFIG)
    assert hit is not None and hit.points == DEFAULT_POINTS["large_amount"]


@pytest.mark.parametrize(
    ("amount", "hit"), [("8999.99", False), ("9000", True), ("9999.99", True), ("10000", False)]
)
def test_just_below_threshold_flags_the_structuring_band(amount, hit):
    assert (risk.just_below_threshold(facts(amount=Decimal(amount)), CONFIG) is not None) is hit


@pytest.mark.parametrize(
    ("amount", "hit"), [("1000", True), ("5000.00", True), ("1000.01", False), ("500", False)]
)
def test_round_amount_flags_multiples_of_a_tenth_of_the_threshold(amount, hit):
    assert (risk.round_amount(facts(amount=Decimal(amount)), CONFIG) is not None) is hit


def test_amount_rules_leave_unlisted_currencies_to_their_own_rule():
    unlisted = facts(amount=Decimal("99999999"), currency="ISK")

    assert risk.large_amount(unlisted, CONFIG) is None
    assert risk.unlisted_currency(unlisted, CONFIG).reason == "unlisted_currency:ISK"
    assert risk.unlisted_currency(facts(), CONFIG) is None


@pytest.mark.parametrize(("count", "hit"), [(1, False), (3, False), (4, True)])
def test_high_velocity_flags_more_than_the_limit_in_the_window(count, hit):
    result = risk.high_velocity(facts(velocity_count=count), CONFIG)

    assert (result is not None) is hit
    if hit:
        assert result.reason == "high_velocity:4/600s"


def test_high_risk_country_looks_at_both_sides():
    assert risk.high_risk_country(facts(), CONFIG) is None
    assert risk.high_risk_country(facts(destination=RU), CONFIG).reason == "high_risk_country:RU"
    deposit = facts(type="deposit", source=None, destination=RU)
    assert risk.high_risk_country(deposit, CONFIG) is not None


def test_cross_border_needs_two_countries():
    assert risk.cross_border(facts(destination=FR), CONFIG).reason == "cross_border"
    assert risk.cross_border(facts(), CONFIG) is None
    assert risk.cross_border(facts(type="withdrawal", destination=None), CONFIG) is None


def test_new_counterparty_follows_the_signal():
    assert risk.new_counterparty(facts(new_counterparty=True), CONFIG).reason == "new_counterparty"
    assert risk.new_counterparty(facts(new_counterparty=False), CONFIG) is None


@pytest.mark.parametrize(
    ("score", "decision"),
    [(0, "approved"), (49, "approved"), (50, "review"), (79, "review"), (80, "declined")],
)
def test_decision_thresholds(score, decision):
    assert decide(score, RiskConfig(review_threshold=50, decline_threshold=80)) == decision


def test_an_ordinary_transfer_is_approved_with_no_reasons():
    assessment = assess(facts(), CONFIG)

    assert (assessment.score, assessment.reasons, assessment.decision) == (0, [], "approved")


def test_points_add_up_and_the_score_is_clamped_to_100():
    worst = facts(
        amount=Decimal("100000"), destination=RU, velocity_count=10, new_counterparty=True
    )

    assessment = assess(worst, CONFIG)

    assert assessment.score == 100
    assert assessment.decision == "declined"
    assert assessment.reasons == [
        "very_large_amount",
        "round_amount",
        "high_velocity:10/600s",
        "high_risk_country:RU",
        "cross_border",
        "new_counterparty",
    ]


def test_points_are_configurable(settings):
    settings.RISK_POINTS = {"cross_border": 60}

    config = RiskConfig.from_settings()

    assert assess(facts(destination=FR), config).decision == "review"
    assert config.points["new_counterparty"] == DEFAULT_POINTS["new_counterparty"]


def test_config_reads_the_settings(settings):
    settings.RISK_LARGE_AMOUNTS = {"eur": "500"}
    settings.RISK_HIGH_RISK_COUNTRIES = ["de"]

    config = RiskConfig.from_settings()

    assert config.large_amounts == {"EUR": Decimal("500")}
    assert config.high_risk_countries == frozenset({"DE"})
