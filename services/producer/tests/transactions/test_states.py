import pytest

from bankflow.errors import InvalidTransition
from producer.transactions import states
from producer.transactions.models import OutboxState, Status

ALLOWED = {
    ("pending", "dispatched"),
    ("pending", "cancelled"),
    ("pending", "processed"),
    ("pending", "failed"),
    ("dispatched", "processed"),
    ("dispatched", "failed"),
    ("failed", "pending"),
}


@pytest.mark.parametrize("current", Status.values)
@pytest.mark.parametrize("target", Status.values)
def test_exactly_the_contract_transitions_are_allowed(current, target):
    allowed = (current, target) in ALLOWED
    assert states.TRANSACTION_STATES.can(current, target) is allowed
    if allowed:
        states.TRANSACTION_STATES.check(current, target)
    else:
        with pytest.raises(InvalidTransition):
            states.TRANSACTION_STATES.check(current, target)


def test_final_statuses_take_no_result():
    for status in states.FINAL:
        assert not states.TRANSACTION_STATES.can(status, Status.PROCESSED)


OUTBOX_ALLOWED = {
    ("pending", "in_flight"),
    ("pending", "cancelled"),
    ("pending", "sent"),
    ("in_flight", "sent"),
    ("in_flight", "pending"),
    ("in_flight", "failed"),
    ("in_flight", "in_flight"),
}


@pytest.mark.parametrize("current", OutboxState.values)
@pytest.mark.parametrize("target", OutboxState.values)
def test_outbox_rows_move_only_as_the_dispatcher_and_cancel_need(current, target):
    assert states.OUTBOX_STATES.can(current, target) is ((current, target) in OUTBOX_ALLOWED)


@pytest.mark.django_db
def test_a_bulk_transition_moves_only_the_rows_whose_state_allows_it():
    from tests.factories import OutboxMessageFactory, TransactionFactory

    pending = OutboxMessageFactory(transaction=TransactionFactory())
    sent = OutboxMessageFactory(transaction=TransactionFactory(), state=OutboxState.SENT)
    queryset = type(pending).objects.filter(id__in=[pending.id, sent.id])

    moved = states.OUTBOX_STATES.update(queryset, OutboxState.CANCELLED)

    assert moved == 1
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert (pending.state, sent.state) == (OutboxState.CANCELLED, OutboxState.SENT)
