"""The lifecycle of a received transaction, written once (``bankflow.statemachine``).

received -> processing -> processed | failed. ``processing`` -> ``processing`` is not a
transition: a batch whose worker died is simply claimed again.
"""

from __future__ import annotations

from bankflow.statemachine import StateMachine
from consumer.intake.models import Status

TRANSACTION_STATES = StateMachine(
    "transaction",
    field="status",
    transitions={
        Status.RECEIVED: {Status.PROCESSING},
        Status.PROCESSING: {Status.PROCESSED, Status.FAILED},
        Status.PROCESSED: set(),
        Status.FAILED: set(),
    },
)
