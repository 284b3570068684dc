"""The audit-trail tests every service runs on its event table (``bankflow.audit``), and
the ``event_statements`` fixture that counts the statements writing events.

A service's ``test_events_model.py`` imports these and defines the ``trail`` fixture: a
``TrailCase`` naming its events module, its event model, a factory of transactions, the
kind and status of a first event, and a later step (kind, previous, new status).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.db import transaction as db

import bankflow.audit

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class TrailCase:
    events: ModuleType
    model: Any
    make: Callable[..., Any]  # a factory: make() one transaction, make.create_batch(n)
    first: tuple[str, str]  # kind, new status
    step: tuple[str, str, str]  # kind, previous status, new status


@pytest.fixture
def event_statements(monkeypatch):
    """How many statements wrote events (record_many calls that had rows)."""
    calls: list[int] = []
    real = bankflow.audit.copy_rows

    def spy(model, objs, fields):
        objs = list(objs)
        calls.append(len(objs))
        return real(model, objs, fields)

    monkeypatch.setattr(bankflow.audit, "copy_rows", spy)
    return calls


def test_record_appends_one_event_with_the_transactions_correlation_id(trail):
    tx = trail.make()
    kind, status = trail.first
    row = trail.events.record(tx, kind, previous=None, new=status, detail={"a": 1}, actor="x")
    stored = trail.model.objects.get(pk=row.pk)
    assert (stored.kind, stored.from_status, stored.to_status) == (kind, None, status)
    assert stored.detail == {"a": 1}
    assert stored.correlation_id == tx.correlation_id
    assert stored.actor == "x"


def test_record_many_appends_a_batch_in_order(trail):
    txs = trail.make.create_batch(3)
    kind, previous, new = trail.step
    rows = [
        trail.events.event(tx, kind, previous=previous, new=new, detail={"attempt": 1})
        for tx in txs
    ]
    assert trail.events.record_many(rows) == 3
    assert trail.events.record_many([]) == 0
    stored = list(trail.model.objects.filter(transaction__in=txs).order_by("id"))
    assert [e.transaction_id for e in stored] == [tx.id for tx in txs]
    assert all(e.detail == {"attempt": 1} for e in stored)


def test_record_many_takes_mappings_of_events_arguments_too(trail):
    tx = trail.make()
    kind, previous, new = trail.step
    rows = [{"transaction": tx, "kind": kind, "previous": previous, "new": new, "actor": "a"}]
    assert trail.events.record_many(rows) == 1
    assert trail.model.objects.get(transaction_id=tx.pk).actor == "a"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guard is PostgreSQL's")
@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_or_remove_an_event(trail, change):
    tx = trail.make()
    kind, status = trail.first
    row = trail.events.record(tx, kind, previous=None, new=status)
    with pytest.raises(DatabaseError, match="append-only"), db.atomic():
        qs = trail.model.objects.filter(pk=row.pk)
        qs.update(kind=trail.step[0]) if change == "update" else qs.delete()
    assert trail.model.objects.get(pk=row.pk).kind == kind
