import pytest

from producer.transactions import states
from producer.transactions.models import Status

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
    assert states.can_transition(current, target) is allowed
    if allowed:
        states.check_transition(current, target)
    else:
        with pytest.raises(states.InvalidTransition):
            states.check_transition(current, target)


def test_final_statuses_take_no_result():
    for status in states.FINAL:
        assert not states.can_transition(status, Status.PROCESSED)
