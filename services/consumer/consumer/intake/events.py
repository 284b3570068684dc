"""The consumer's audit trail: one event per change, appended in the change's transaction
(``bankflow.audit.Trail``: ``event``, ``record``, ``record_many`` — a batch in one statement).

``actor`` says who asked, for operator actions; empty for the system's own steps.
"""

from __future__ import annotations

from bankflow.audit import EVENT_COLUMNS, Trail, command_actor, reviewer_actor, staff_actor
from consumer.intake.models import TransactionEvent

__all__ = [
    "EVENT_COLUMNS",
    "command_actor",
    "event",
    "record",
    "record_many",
    "reviewer_actor",
    "staff_actor",
]

_trail = Trail(TransactionEvent)
event = _trail.event
record = _trail.record
record_many = _trail.record_many
