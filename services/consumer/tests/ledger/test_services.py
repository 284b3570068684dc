import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from consumer.ledger.models import Account, Entry
from consumer.ledger.postings import postings_for
from consumer.ledger.selectors import ledger_totals
from consumer.ledger.services import ledger_post
from tests.factories import DE, FR

pytestmark = pytest.mark.django_db


def transfer(tx_id, amount="10.00", fee="0.25"):
    return postings_for(
        transaction_id=tx_id,
        type="transfer",
        amount=Decimal(amount),
        fee=Decimal(fee),
        currency="EUR",
        source=DE,
        destination=FR,
    )


def test_posting_creates_accounts_once_and_writes_every_leg():
    ledger_post(postings=transfer(uuid.uuid4()))
    ledger_post(postings=transfer(uuid.uuid4()))

    assert Account.objects.count() == 3
    assert Entry.objects.count() == 8
    assert ledger_totals() == {"EUR": Decimal(0)}


def test_the_same_transaction_can_never_post_twice():
    tx_id = uuid.uuid4()
    ledger_post(postings=transfer(tx_id))

    with pytest.raises(IntegrityError), transaction.atomic():
        ledger_post(postings=transfer(tx_id, amount="99.00"))

    assert Entry.objects.filter(transaction_id=tx_id).count() == 4


def test_a_zero_entry_is_refused_by_the_database():
    account = Account.objects.create(code=DE, kind="customer")

    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            account=account, currency="EUR", amount=0, transaction_id=uuid.uuid4(), leg="debit"
        )


def test_nothing_to_post_writes_nothing():
    assert ledger_post(postings=[]) == 0
    assert not Account.objects.exists()


def test_known_accounts_cost_no_query_and_a_rolled_back_batch_leaves_none_remembered(
    django_assert_num_queries,
):
    from consumer.ledger import services

    # A first batch creates the accounts; none is remembered (they are not committed yet)
    ledger_post(postings=transfer(uuid.uuid4()))
    assert services._account_ids == {}
    # The next one reads them (now as good as committed) and remembers them ...
    ledger_post(postings=transfer(uuid.uuid4()))
    assert set(services._account_ids) == {DE, FR, "FEES-EUR"}
    # ... so that the one after only COPYs its entries (the driver's COPY, not a query
    # Django counts): no account is looked up or created
    with django_assert_num_queries(0):
        ledger_post(postings=transfer(uuid.uuid4()))


def test_an_account_created_by_a_batch_that_rolls_back_is_not_remembered():
    from consumer.ledger import services

    with pytest.raises(RuntimeError), transaction.atomic():
        ledger_post(postings=transfer(uuid.uuid4()))
        raise RuntimeError("the batch failed after posting")

    assert services._account_ids == {}
    assert not Account.objects.exists()
