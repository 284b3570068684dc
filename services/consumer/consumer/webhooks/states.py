"""The lifecycle of a webhook message, written once (``bankflow.statemachine``).

pending -> delivered | retrying | dead; retrying -> delivered | retrying | dead;
dead | retrying -> pending when an operator redelivers.
"""

from __future__ import annotations

from bankflow.statemachine import StateMachine
from consumer.webhooks.models import MessageState

MESSAGE_STATES = StateMachine(
    "webhook message",
    field="state",
    transitions={
        MessageState.PENDING: {MessageState.DELIVERED, MessageState.RETRYING, MessageState.DEAD},
        MessageState.RETRYING: {
            MessageState.DELIVERED,
            MessageState.RETRYING,
            MessageState.DEAD,
            MessageState.PENDING,
        },
        MessageState.DEAD: {MessageState.PENDING},
        MessageState.DELIVERED: set(),
    },
)
