from decimal import Decimal

import pytest

from bankflow import money


class TestCurrencies:
    def test_minor_units_follow_iso_4217(self):
        assert money.minor_units("EUR") == 2
        assert money.minor_units("JPY") == 0
        assert money.minor_units("BHD") == 3

    @pytest.mark.parametrize("code", ["XXX", "XAU", "ABC", "eur ", ""])
    def test_codes_without_minor_units_or_unknown_are_refused(self, code):
        with pytest.raises(ValueError, match="ISO 4217"):
            money.minor_units(code)

    def test_normalize_accepts_lower_case(self):
        assert money.normalize_currency(" eur") == "EUR"


class TestAmounts:
    @pytest.mark.parametrize(
        ("amount", "currency", "expected"),
        [
            ("125.50", "EUR", Decimal("125.50")),
            ("1000", "JPY", Decimal("1000")),
            ("0.001", "BHD", Decimal("0.001")),
        ],
    )
    def test_valid_amounts_are_quantized_to_the_currency(self, amount, currency, expected):
        result = money.validate_amount(money.parse_amount(amount), currency)
        assert result == expected
        assert result.as_tuple().exponent == -money.minor_units(currency)

    @pytest.mark.parametrize(
        ("amount", "currency", "message"),
        [
            ("0", "EUR", "greater than zero"),
            ("-1", "EUR", "greater than zero"),
            ("1.001", "EUR", "at most 2 decimal places"),
            ("1.5", "JPY", "at most 0 decimal places"),
            ("1000000000.01", "EUR", "at most"),
        ],
    )
    def test_invalid_amounts_say_why(self, amount, currency, message):
        with pytest.raises(ValueError, match=message):
            money.validate_amount(money.parse_amount(amount), currency)

    def test_trailing_zeros_beyond_minor_units_are_fine(self):
        assert money.validate_amount(Decimal("10.500"), "EUR") == Decimal("10.50")

    def test_upper_bound_is_inclusive(self):
        assert money.validate_amount(Decimal("1000000000"), "EUR") == Decimal("1000000000.00")

    @pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", None, True, "", [1]])
    def test_unparseable_amounts(self, value):
        with pytest.raises(ValueError, match="valid decimal"):
            money.parse_amount(value)

    def test_numbers_are_read_through_their_decimal_text(self):
        assert money.parse_amount(0.1) == Decimal("0.1")
        assert money.parse_amount(12) == Decimal(12)

    def test_round_money_is_half_even(self):
        assert money.round_money(Decimal("0.125"), "EUR") == Decimal("0.12")
        assert money.round_money(Decimal("0.135"), "EUR") == Decimal("0.14")


class TestIban:
    def test_spaces_and_lower_case_are_normalised(self):
        assert (
            money.normalize_iban("fr14 2004 1010 0505 0001 3m02 606")
            == "FR1420041010050500013M02606"
        )

    @pytest.mark.parametrize("value", ["DE89370400440532013001", "XX00", "", "not an iban"])
    def test_invalid_ibans_are_refused(self, value):
        with pytest.raises(ValueError, match="IBAN"):
            money.normalize_iban(value)


@pytest.mark.parametrize(
    ("amount", "places"),
    [
        ("1", 0),
        ("1.50", 1),
        ("100", 0),
        ("1E+3", 0),
        ("0.001", 3),
        ("1.0000", 0),
        ("0.1000000000000000000000000000001", 31),
    ],
)
def test_decimal_places_are_counted_exactly_beyond_the_context_precision(amount, places):
    from bankflow.money import decimal_places

    assert decimal_places(Decimal(amount)) == places
