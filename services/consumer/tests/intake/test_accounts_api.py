from decimal import Decimal

import pytest

from consumer.ledger.postings import postings_for
from consumer.ledger.services import ledger_post
from tests.factories import DE, FR

pytestmark = pytest.mark.django_db


def post_transfer(amount: str, fee: str, currency: str = "EUR") -> None:
    import uuid

    ledger_post(
        postings=postings_for(
            transaction_id=uuid.uuid4(),
            type="transfer",
            amount=Decimal(amount),
            fee=Decimal(fee),
            currency=currency,
            source=DE,
            destination=FR,
        )
    )


def test_balances_per_currency_are_the_sum_of_entries(api):
    post_transfer("100.00", "0.50")
    post_transfer("25.25", "0")
    post_transfer("1000", "30", currency="JPY")

    response = api.get("/api/v1/accounts/de89 3704 0044 0532 0130 00/")

    assert response.status_code == 200
    assert response.json() == {"iban": DE, "balances": {"EUR": "-125.75", "JPY": "-1030"}}
    assert api.get(f"/api/v1/accounts/{FR}/").json()["balances"] == {
        "EUR": "125.25",
        "JPY": "1000",
    }


def test_an_account_the_ledger_never_posted_to_answers_404(api):
    response = api.get("/api/v1/accounts/GB82WEST12345698765432/")

    assert response.status_code == 404


def test_an_invalid_iban_answers_400(api):
    response = api.get("/api/v1/accounts/DE00123/")

    assert response.status_code == 400
    assert "iban" in response.json()
