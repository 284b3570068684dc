import pytest

from bankflow.errors import InvalidTransition
from consumer.intake.models import Status
from consumer.intake.states import TRANSACTION_STATES
from consumer.webhooks.models import MessageState
from consumer.webhooks.states import MESSAGE_STATES
from tests.factories import ReceivedTransactionFactory, WebhookMessageFactory

T, M = Status, MessageState


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (T.RECEIVED, T.PROCESSING, True),
        (T.PROCESSING, T.PROCESSED, True),
        (T.PROCESSING, T.FAILED, True),
        (T.RECEIVED, T.PROCESSED, False),
        (T.PROCESSED, T.PROCESSING, False),
        (T.FAILED, T.PROCESSED, False),
        (T.PROCESSED, T.FAILED, False),
    ],
)
def test_transaction_lifecycle(current, target, allowed):
    tx = ReceivedTransactionFactory.build(status=current)

    if allowed:
        TRANSACTION_STATES.apply(tx, target)
        assert tx.status == target
    else:
        with pytest.raises(InvalidTransition):
            TRANSACTION_STATES.apply(tx, target)
        assert tx.status == current


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (M.PENDING, M.DELIVERED, True),
        (M.PENDING, M.RETRYING, True),
        (M.PENDING, M.DEAD, True),
        (M.RETRYING, M.RETRYING, True),
        (M.RETRYING, M.DELIVERED, True),
        (M.RETRYING, M.DEAD, True),
        (M.RETRYING, M.PENDING, True),
        (M.DEAD, M.PENDING, True),
        (M.DEAD, M.DELIVERED, False),
        (M.DELIVERED, M.PENDING, False),
        (M.DELIVERED, M.RETRYING, False),
    ],
)
def test_webhook_message_lifecycle(current, target, allowed):
    message = WebhookMessageFactory.build(state=current)

    assert MESSAGE_STATES.can(current, target) is allowed
    if not allowed:
        with pytest.raises(InvalidTransition):
            MESSAGE_STATES.apply(message, target)
