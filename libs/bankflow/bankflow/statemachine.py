"""The one state machine: the allowed transitions of one state field, written once.

Every lifecycle (a producer transaction, an outbox row, a received transaction, a webhook
message) declares its table here-shaped, and every change of state goes through it: on an
object (``apply``), on objects already locked (``apply_many``), or in one UPDATE on a
queryset (``update``), which only moves the rows whose current state allows the target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.db.models import QuerySet

from bankflow.errors import InvalidTransition

T = TypeVar("T")


class StateMachine:
    def __init__(self, name: str, *, field: str, transitions: Mapping[str, Iterable[str]]) -> None:
        self.name = name
        self.field = field
        self.transitions: dict[str, frozenset[str]] = {
            str(state): frozenset(str(t) for t in targets) for state, targets in transitions.items()
        }

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.transitions).union(*self.transitions.values())

    @property
    def final(self) -> frozenset[str]:
        """States nothing leaves."""
        return frozenset(s for s in self.states if not self.transitions.get(s))

    def can(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, frozenset())

    def sources(self, target: str) -> frozenset[str]:
        """The states from which ``target`` may be reached."""
        return frozenset(s for s, targets in self.transitions.items() if target in targets)

    def check(self, current: str, target: str) -> None:
        if not self.can(current, target):
            raise InvalidTransition(
                f"A {current} {self.name} cannot become {target}.", current=current, target=target
            )

    def apply(self, obj: Any, target: str) -> str:
        """Move one object to ``target`` (InvalidTransition otherwise); its previous state."""
        previous = str(getattr(obj, self.field))
        self.check(previous, target)
        setattr(obj, self.field, target)
        return previous

    def apply_many(self, objs: Iterable[T], target: str) -> list[tuple[T, str]]:
        """Move each object that may take ``target``; the others are left as they are.

        For rows the caller holds locked: (object, previous state) for each one moved.
        """
        moved: list[tuple[T, str]] = []
        for obj in objs:
            previous = str(getattr(obj, self.field))
            if self.can(previous, target):
                setattr(obj, self.field, target)
                moved.append((obj, previous))
        return moved

    def update(self, queryset: QuerySet[Any], target: str, **fields: Any) -> int:
        """One UPDATE moving every row of ``queryset`` whose state allows ``target``."""
        return queryset.filter(**{f"{self.field}__in": self.sources(target)}).update(
            **{self.field: target}, **fields
        )
