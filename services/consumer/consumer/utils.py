"""Small helpers without a domain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def isoformat(when: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as the wire formats show it."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
