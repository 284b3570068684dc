"""A tiny state machine: the allowed transitions of one status field, in one place.

Each lifecycle (a received transaction, a webhook message) declares its transitions once;
every change of state goes through ``apply`` so that an illegal move fails loudly instead
of being written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class InvalidTransition(Exception):
    pass


class StateMachine:
    def __init__(self, *, field: str, transitions: Mapping[str, frozenset[str]]) -> None:
        self.field = field
        self.transitions = transitions

    def can(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, frozenset())

    def apply(self, obj: Any, target: str) -> None:
        current = getattr(obj, self.field)
        if not self.can(current, target):
            raise InvalidTransition(
                f"{type(obj).__name__} {obj.pk}: {current!r} -> {target!r} is not allowed"
            )
        setattr(obj, self.field, target)
