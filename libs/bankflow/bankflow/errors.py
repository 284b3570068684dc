"""Application errors: what services and selectors raise when a request cannot be done.

They say nothing about HTTP. The one exception handler (``bankflow.api``) maps each kind to
the API's error shape and status; a command or a task can catch them like any exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ApplicationError(Exception):
    """A failure the caller can act on (as opposed to a bug)."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ApplicationError):
    code = "not_found"


class Conflict(ApplicationError):
    """The request is valid but the resource's current state does not allow it."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A state machine refused a change of state (``bankflow.statemachine``)."""

    def __init__(self, message: str, *, current: str, target: str) -> None:
        super().__init__(message)
        self.current = current
        self.target = target


class Invalid(ApplicationError):
    """Input that breaks a rule, field by field: ``{"amount": ["Must be greater than zero."]}``."""

    def __init__(self, errors: Mapping[str, Sequence[str] | Mapping[str, Sequence[str]]]) -> None:
        super().__init__("; ".join(f"{field}: {msgs}" for field, msgs in errors.items()))
        self.errors = dict(errors)
