from decimal import Decimal

import pytest

from consumer.console.templatetags.console import money


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("100.000000"), "EUR", "100.00"),
        (Decimal("100"), "JPY", "100"),
        (Decimal("1.25"), "BHD", "1.250"),
        (Decimal("-0.5"), "EUR", "-0.50"),
        ("12.5", "XXX?", "12.5"),
    ],
)
def test_amounts_show_the_currency_minor_units(amount, currency, text):
    assert money(amount, currency) == text
