from decimal import Decimal

import pytest

from consumer.processing.fees import DEFAULT_SCHEDULE, FeeRule, FeeSchedule

SCHEDULE = FeeSchedule(DEFAULT_SCHEDULE)


@pytest.mark.parametrize(
    ("type_", "amount", "currency", "fee"),
    [
        ("transfer", "125.50", "EUR", "0.50"),  # 0.251 + 0.25 = 0.501 -> 0.50
        ("transfer", "100", "EUR", "0.50"),  # 0.45 raised to the minimum
        ("transfer", "1000", "EUR", "2.25"),
        ("transfer", "50000", "EUR", "20.00"),  # capped
        ("transfer", "125000", "JPY", "280"),  # JPY has its own entry, 0 decimals
        ("payment", "10.00", "USD", "0.39"),
        ("payment", "10.000", "BHD", "0.390"),  # three decimals
        ("deposit", "5000", "EUR", "0.00"),
        ("withdrawal", "40", "GBP", "2.00"),
        ("withdrawal", "40000", "JPY", "250"),
    ],
)
def test_default_schedule(type_, amount, currency, fee):
    result = SCHEDULE.fee(type_=type_, amount=Decimal(amount), currency=currency)

    assert result == Decimal(fee)
    assert str(result) == fee  # the currency's minor units, as the wire shows it


def test_the_fee_is_rounded_once_half_even():
    rule = FeeRule(percent=Decimal("1"), fixed=Decimal("0"))

    # 0.125 and 0.135 are exact halves: half-even goes to the even cent.
    assert rule.fee(Decimal("12.50"), "EUR") == Decimal("0.12")
    assert rule.fee(Decimal("13.50"), "EUR") == Decimal("0.14")


def test_minimum_and_maximum_bound_the_fee():
    rule = FeeRule(percent=Decimal("10"), minimum=Decimal("1"), maximum=Decimal("5"))

    assert rule.fee(Decimal("2"), "EUR") == Decimal("1.00")
    assert rule.fee(Decimal("30"), "EUR") == Decimal("3.00")
    assert rule.fee(Decimal("100"), "EUR") == Decimal("5.00")


def test_a_type_without_an_entry_costs_nothing():
    schedule = FeeSchedule({"payment": {"*": {"fixed": "1"}}})

    assert schedule.fee(type_="transfer", amount=Decimal("10"), currency="JPY") == Decimal("0")


def test_the_schedule_comes_from_settings_when_set(settings):
    settings.FEE_SCHEDULE = {"transfer": {"eur": {"percent": "1", "fixed": "0.10"}}}

    schedule = FeeSchedule.from_settings()

    assert schedule.fee(type_="transfer", amount=Decimal("10"), currency="EUR") == Decimal("0.20")
    assert schedule.fee(type_="transfer", amount=Decimal("10"), currency="USD") == Decimal("0.00")


def test_unknown_keys_in_a_rule_are_refused():
    with pytest.raises(ValueError, match="unknown fee keys"):
        FeeSchedule({"transfer": {"*": {"percentage": "1"}}})
