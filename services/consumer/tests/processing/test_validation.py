from decimal import Decimal

import pytest

from consumer.processing.validation import BusinessRuleViolation, validate_transaction
from tests.factories import DE, FR, ReceivedTransactionFactory

pytestmark = pytest.mark.django_db


def test_a_valid_transaction_comes_back_normalised():
    row = ReceivedTransactionFactory(
        amount=Decimal("125.500000"), currency="eur", source_account="de89 3704 0044 0532 0130 00"
    )

    tx = validate_transaction(row)

    assert (tx.amount, str(tx.amount), tx.currency, tx.source) == (
        Decimal("125.50"),
        "125.50",
        "EUR",
        DE,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"currency": "XXY"}, "currency:"),
        ({"amount": Decimal("0")}, "amount: Must be greater than zero."),
        ({"amount": Decimal("-5")}, "amount:"),
        ({"amount": Decimal("1000000000.01")}, "amount: Must be at most"),
        ({"amount": Decimal("1.5"), "currency": "JPY"}, "JPY allows at most 0 decimal places"),
        ({"source_account": "DE00370400440532013000"}, "source_account: Not a valid IBAN"),
        ({"destination_account": ""}, "destination_account: This field is required for a transfer"),
        ({"destination_account": DE}, "Must differ from source_account"),
        ({"type": "deposit"}, "source_account: Must be absent or null for a deposit"),
        ({"type": "withdrawal"}, "destination_account: Must be absent or null for a withdrawal"),
        ({"type": "withdrawal", "source_account": "", "destination_account": ""}, "required"),
    ],
)
def test_broken_rules_are_named(overrides, message):
    row = ReceivedTransactionFactory(**overrides)

    with pytest.raises(BusinessRuleViolation, match=message):
        validate_transaction(row)


def test_every_broken_rule_is_named_at_once():
    row = ReceivedTransactionFactory(currency="ABC", destination_account="FR00")

    with pytest.raises(BusinessRuleViolation) as caught:
        validate_transaction(row)

    assert str(caught.value).count(";") == 1
    assert FR not in str(caught.value)
