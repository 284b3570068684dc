"""The lifecycle of a webhook message, written once.

pending -> delivered | retrying | dead; retrying -> delivered | retrying | dead;
dead | retrying -> pending when an operator redelivers.
"""

from __future__ import annotations

from consumer.statemachine import StateMachine
from consumer.webhooks.models import MessageState

MESSAGE_STATES = StateMachine(
    field="state",
    transitions={
        MessageState.PENDING: frozenset(
            {MessageState.DELIVERED, MessageState.RETRYING, MessageState.DEAD}
        ),
        MessageState.RETRYING: frozenset(
            {MessageState.DELIVERED, MessageState.RETRYING, MessageState.DEAD, MessageState.PENDING}
        ),
        MessageState.DEAD: frozenset({MessageState.PENDING}),
    },
)
