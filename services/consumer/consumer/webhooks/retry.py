"""Which answers are retried, and when.

Retried: no answer at all (connection error, timeout), 5xx, 429 and 408, and a 400 saying
the producer does not know the message's wire version yet (it will, once upgraded). Any
other answer below 200 or from 300 up is final: the request would fail the same way again,
so the message goes ``dead`` at once (an operator can redeliver it after fixing the cause).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from bankflow.wire import UnsupportedVersion

DELIVERED, RETRY, DEAD = "delivered", "retry", "dead"
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


def classify(status_code: int | None, code: str = "") -> str:
    """The outcome of an answer (``code``: the error body's ``code``, if any)."""
    if status_code is None:
        return RETRY
    if 200 <= status_code < 300:
        return DELIVERED
    if status_code >= 500 or status_code in RETRYABLE_CLIENT_ERRORS:
        return RETRY
    if status_code == 400 and code == UnsupportedVersion.code:
        return RETRY
    return DEAD


def retry_delay(
    attempts: int, schedule: Sequence[int], *, jitter: float, rng: random.Random | None = None
) -> float | None:
    """Seconds before the next attempt after ``attempts`` failed ones, or None: give up.

    The schedule's step, spread by +-jitter so that messages failed together do not
    return together.
    """
    if attempts < 1 or attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    spread = (rng or random).uniform(-jitter, jitter)  # jitter, not cryptography
    return max(0.0, base * (1 + spread))
