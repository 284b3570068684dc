import uuid
from decimal import Decimal

import pytest

from consumer.ledger.postings import Posting, UnbalancedPosting, check_balanced, postings_for
from tests.factories import DE, FR

TX = uuid.uuid4()


def legs(type, fee="1.00", source=DE, destination=FR):
    postings = postings_for(
        transaction_id=TX,
        type=type,
        amount=Decimal("100.00"),
        fee=Decimal(fee),
        currency="EUR",
        source=source,
        destination=destination,
    )
    return [(p.leg, p.account.code, p.amount) for p in postings]


@pytest.mark.parametrize("type", ["transfer", "payment"])
def test_transfer_and_payment_move_money_from_source_to_destination(type):
    assert legs(type) == [
        ("debit", DE, Decimal("-100.00")),
        ("credit", FR, Decimal("100.00")),
        ("fee_debit", DE, Decimal("-1.00")),
        ("fee_credit", "FEES-EUR", Decimal("1.00")),
    ]


def test_a_deposit_comes_from_settlement_and_the_destination_pays_the_fee():
    assert legs("deposit", source=None) == [
        ("debit", "SETTLEMENT-EUR", Decimal("-100.00")),
        ("credit", FR, Decimal("100.00")),
        ("fee_debit", FR, Decimal("-1.00")),
        ("fee_credit", "FEES-EUR", Decimal("1.00")),
    ]


def test_a_withdrawal_goes_to_settlement():
    assert legs("withdrawal", destination=None, fee="0") == [
        ("debit", DE, Decimal("-100.00")),
        ("credit", "SETTLEMENT-EUR", Decimal("100.00")),
    ]


@pytest.mark.parametrize("type", ["transfer", "payment", "deposit", "withdrawal"])
def test_every_type_balances(type):
    postings = postings_for(
        transaction_id=TX,
        type=type,
        amount=Decimal("12.34"),
        fee=Decimal("0.56"),
        currency="EUR",
        source=None if type == "deposit" else DE,
        destination=None if type == "withdrawal" else FR,
    )

    check_balanced(postings)
    assert sum(p.amount for p in postings) == 0


def test_unbalanced_postings_are_refused():
    postings = postings_for(
        transaction_id=TX,
        type="transfer",
        amount=Decimal("1"),
        fee=Decimal(0),
        currency="EUR",
        source=DE,
        destination=FR,
    )
    skewed = [*postings[:1], Posting(TX, "credit", postings[1].account, "EUR", Decimal("0.99"))]

    with pytest.raises(UnbalancedPosting):
        check_balanced(skewed)
