"""The lifecycle of a decision held for review, written once (``bankflow.statemachine``).

review -> approved | declined, once: a decided transaction is final.
"""

from __future__ import annotations

from bankflow.statemachine import StateMachine
from consumer.review.models import Decision

REVIEW = "review"

REVIEW_STATES = StateMachine(
    "review",
    field="decision",
    transitions={REVIEW: {Decision.APPROVED, Decision.DECLINED}},
)
