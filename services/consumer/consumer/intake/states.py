"""The lifecycle of a received transaction, written once.

received -> processing -> processed | failed. ``processing`` -> ``processing`` is not a
transition: a batch whose worker died is simply claimed again.
"""

from __future__ import annotations

from consumer.intake.models import Status
from consumer.statemachine import StateMachine

TRANSACTION_STATES = StateMachine(
    field="status",
    transitions={
        Status.RECEIVED: frozenset({Status.PROCESSING}),
        Status.PROCESSING: frozenset({Status.PROCESSED, Status.FAILED}),
    },
)
