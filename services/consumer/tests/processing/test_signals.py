import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from consumer.processing.signals import gather_signals
from consumer.processing.validation import ValidTransaction
from tests.factories import DE, FR, GB


def tx(*, source=DE, destination=FR, type="transfer", seconds_ago=0):
    return ValidTransaction(
        id=uuid.uuid4(),
        type=type,
        amount=Decimal("10.00"),
        currency="EUR",
        source=source,
        destination=destination,
        occurred_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def gather(txs, window=600):
    return gather_signals(txs, window_seconds=window, memory_days=1)


def test_velocity_counts_the_account_transactions_within_the_window():
    old = tx(seconds_ago=700)
    batch = [tx(seconds_ago=30), tx(seconds_ago=20), tx(seconds_ago=10)]

    gather([old])
    signals = gather(batch)

    assert [signals[t.id].velocity_count for t in batch] == [1, 2, 3]


def test_a_redelivered_batch_does_not_count_itself_twice():
    batch = [tx(), tx()]
    first = gather(batch)

    again = gather(batch)

    assert again == first


def test_velocity_is_per_debited_account_and_deposits_count_on_the_destination():
    transfer = tx(source=DE)
    other = tx(source=GB)
    deposit = tx(type="deposit", source=None, destination=DE)

    signals = gather([transfer, other, deposit])

    assert signals[other.id].velocity_count == 1
    assert signals[deposit.id].velocity_count == 2  # DE: the transfer and the deposit


def test_only_the_first_transaction_of_a_pair_is_a_new_counterparty_even_when_redelivered():
    first, second, reverse = tx(), tx(), tx(source=FR, destination=DE)

    signals = gather([first, second, reverse])
    again = gather([first])

    assert signals[first.id].new_counterparty is True
    assert signals[second.id].new_counterparty is False
    assert signals[reverse.id].new_counterparty is True
    assert again[first.id].new_counterparty is True


def test_one_sided_transactions_have_no_counterparty():
    withdrawal = tx(type="withdrawal", destination=None)

    assert gather([withdrawal])[withdrawal.id].new_counterparty is False


def test_nothing_to_gather_makes_no_round_trip():
    assert gather([]) == {}


def test_in_one_batch_the_nth_from_an_account_counts_n_whatever_the_batch_order():
    batch = [tx(seconds_ago=50 - i) for i in range(5)]  # oldest first

    signals = gather(list(reversed(batch)))  # handed over newest first

    assert [signals[t.id].velocity_count for t in batch] == [1, 2, 3, 4, 5]
