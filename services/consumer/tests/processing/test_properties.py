"""Property tests (hypothesis): fees and risk scores for any amount and any configuration."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bankflow.money import MAX_AMOUNT, _minor_units, minor_units, round_money
from consumer.processing.fees import DEFAULT_SCHEDULE, FeeRule, FeeSchedule
from consumer.processing.risk import (
    APPROVED,
    DECLINED,
    DEFAULT_POINTS,
    REVIEW,
    Facts,
    RiskConfig,
    assess,
)

CURRENCIES = sorted(_minor_units())
TYPES = ("transfer", "payment", "deposit", "withdrawal")


@st.composite
def amounts(draw: st.DrawFn, currency: str) -> Decimal:
    digits = minor_units(currency)
    minor = draw(st.integers(min_value=1, max_value=int(MAX_AMOUNT) * 10**digits))
    return Decimal(minor).scaleb(-digits)


@st.composite
def priced(draw: st.DrawFn) -> tuple[str, str, Decimal]:
    currency = draw(st.sampled_from(CURRENCIES))
    return draw(st.sampled_from(TYPES)), currency, draw(amounts(currency))


# ---- fees ------------------------------------------------------------------------------------
@given(priced())
def test_a_default_fee_is_within_its_rules_bounds_in_the_currencys_minor_units(case):
    type_, currency, amount = case
    schedule = FeeSchedule(DEFAULT_SCHEDULE)
    fee = schedule.fee(type_=type_, amount=amount, currency=currency)
    assert fee.as_tuple().exponent == -minor_units(currency)
    assert fee >= 0
    rule = schedule.rule(type_, currency)
    assert rule is not None
    # the bounds as the currency can express them (README: 0.50 is 0 in a zero-decimal one)
    assert fee >= round_money(rule.minimum, currency)
    if rule.maximum is not None:
        assert fee <= round_money(rule.maximum, currency)
    # never rounded more than once: the exact fee is at most half a minor unit away
    exact = max(amount * rule.percent / 100 + rule.fixed, rule.minimum)
    if rule.maximum is not None:
        exact = min(exact, rule.maximum)
    assert abs(fee - exact) <= Decimal(1).scaleb(-minor_units(currency)) / 2


money_parts = st.decimals(min_value=0, max_value=10_000, places=2)


@given(
    priced(),
    st.decimals(min_value=0, max_value=100, places=3),
    money_parts,
    money_parts,
    st.none() | money_parts,
)
def test_any_valid_rule_keeps_every_fee_between_its_minimum_and_maximum(
    case, percent, fixed, minimum, maximum
):
    _type, currency, amount = case
    raw = {"percent": str(percent), "fixed": str(fixed), "min": str(minimum)}
    if maximum is not None:
        raw["max"] = str(maximum)
    if maximum is not None and minimum > maximum:
        with pytest.raises(ValueError, match="min"):
            FeeRule.parse(raw)
        return
    fee = FeeRule.parse(raw).fee(amount, currency)
    assert round_money(minimum, currency) <= fee
    if maximum is not None:
        assert fee <= round_money(maximum, currency)


@pytest.mark.parametrize(
    "raw",
    [
        {"min": "5", "max": "1"},  # regression: a fee of 1, under its own minimum of 5
        {"percent": "-1"},
        {"fixed": "-0.25"},
        {"min": "-1"},
        {"max": "-1"},
        {"percent": "abc"},
    ],
)
def test_a_rule_that_could_charge_outside_its_bounds_is_refused(raw):
    with pytest.raises(ValueError):
        FeeRule.parse(raw)


# ---- risk ------------------------------------------------------------------------------------
ibans = st.sampled_from(
    [None, "DE89370400440532013000", "FR1420041010050500013M02606", "IR062960000000100324200001"]
)


@st.composite
def configs(draw: st.DrawFn) -> RiskConfig:
    review = draw(st.integers(min_value=0, max_value=100))
    return RiskConfig(
        review_threshold=review,
        decline_threshold=draw(st.integers(min_value=review, max_value=100)),
        large_amounts=draw(
            st.dictionaries(
                st.sampled_from(["EUR", "JPY", "BHD", "USD"]),
                st.decimals(min_value=Decimal("0.001"), max_value=MAX_AMOUNT, places=3),
            )
        ),
        high_risk_countries=frozenset(draw(st.sets(st.sampled_from(["IR", "DE", "RU"])))),
        velocity_limit=draw(st.integers(min_value=0, max_value=100)),
        structuring_band=draw(st.decimals(min_value=0, max_value=1, places=2)),
        points={name: draw(st.integers(min_value=-200, max_value=200)) for name in DEFAULT_POINTS},
    )


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    currency = draw(st.sampled_from(["EUR", "JPY", "BHD", "USD", "CHF"]))
    return Facts(
        type=draw(st.sampled_from(TYPES)),
        amount=draw(amounts(currency)),
        currency=currency,
        source=draw(ibans),
        destination=draw(ibans),
        velocity_count=draw(st.integers(min_value=0, max_value=10_000)),
        new_counterparty=draw(st.booleans()),
    )


@given(facts(), configs())
def test_the_risk_score_is_always_0_to_100_and_the_decision_follows_it(fact, config):
    assessment = assess(fact, config)
    assert 0 <= assessment.score <= 100
    assert isinstance(assessment.score, int)
    if assessment.score >= config.decline_threshold:
        assert assessment.decision == DECLINED
    elif assessment.score >= config.review_threshold:
        assert assessment.decision == REVIEW
    else:
        assert assessment.decision == APPROVED
    assert len(assessment.reasons) == len(set(assessment.reasons))


@given(facts())
def test_with_the_default_configuration_the_score_is_the_clamped_sum_of_its_reasons(fact):
    config = RiskConfig(
        large_amounts={"EUR": Decimal(10_000), "JPY": Decimal(1_000_000)},
        high_risk_countries=frozenset({"IR"}),
    )
    assessment = assess(fact, config)
    total = sum(DEFAULT_POINTS[reason.split(":")[0]] for reason in assessment.reasons)
    assert assessment.score == min(100, total)


@pytest.mark.parametrize("threshold", ["0", "-10"])
def test_a_large_amount_threshold_that_is_not_positive_is_refused(threshold):
    """Regression (found by hypothesis): EUR=0 made round_amount divide by zero and every
    EUR transaction's batch crash."""
    with pytest.raises(ValueError, match="EUR"):
        RiskConfig(large_amounts={"EUR": Decimal(threshold)})


@pytest.mark.parametrize(
    "overrides",
    [
        {"RISK_LARGE_AMOUNTS": {"EUR": "0"}},
        {"FEE_SCHEDULE": {"transfer": {"*": {"min": "5", "max": "1"}}}},
        {"FEE_SCHEDULE": {"transfer": {"*": {"percent": "x"}}}},
    ],
)
def test_a_configuration_that_cannot_work_fails_the_system_check(settings, overrides):
    from consumer.processing.checks import processing_configuration

    assert processing_configuration() == []
    for name, value in overrides.items():
        setattr(settings, name, value)
    (error,) = processing_configuration()
    assert error.id == "processing.E001"


# ---- the consumer's lifecycles under random operation sequences ---------------------------
def _tables():
    from consumer.intake.states import TRANSACTION_STATES
    from consumer.webhooks.states import MESSAGE_STATES

    return {
        "received transaction": (TRANSACTION_STATES, "received"),
        "webhook message": (MESSAGE_STATES, "pending"),
    }


@pytest.mark.parametrize("name", ["received transaction", "webhook message"])
@given(data=st.data())
def test_random_operations_on_a_lifecycle_never_leave_its_table(name, data):
    from bankflow.errors import InvalidTransition

    machine, initial = _tables()[name]

    class Row:
        pass

    row, path = Row(), [initial]
    setattr(row, machine.field, initial)
    for target in data.draw(st.lists(st.sampled_from(sorted(machine.states)), max_size=40)):
        before = getattr(row, machine.field)
        try:
            machine.apply(row, target)
        except InvalidTransition:
            assert getattr(row, machine.field) == before
        else:
            path.append(target)
        assert getattr(row, machine.field) in machine.states
    for a, b in itertools.pairwise(path):
        assert b in machine.transitions[a]
    # a final state is only ever the last one
    assert all(state not in machine.final for state in path[:-1])
