"""The audit trail's storage: the helpers append, the database refuses changes."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection
from django.db import transaction as db

from producer.transactions import events
from producer.transactions.models import EventKind, Status, TransactionEvent
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


def test_record_appends_one_event_with_the_transactions_correlation_id():
    tx = TransactionFactory()
    row = events.record(
        tx, EventKind.CREATED, previous=None, new=Status.PENDING, detail={"a": 1}, actor="x"
    )
    stored = TransactionEvent.objects.get(pk=row.pk)
    assert (stored.kind, stored.from_status, stored.to_status) == ("created", None, "pending")
    assert stored.detail == {"a": 1}
    assert stored.correlation_id == tx.correlation_id
    assert stored.actor == "x"


def test_record_many_appends_a_batch_in_order():
    txs = TransactionFactory.create_batch(3)
    rows = [
        events.event(
            tx,
            EventKind.DISPATCHED,
            previous="pending",
            new="dispatched",
            detail={"attempt": 1, "batch": 3},
        )
        for tx in txs
    ]
    assert events.record_many(rows) == 3
    assert events.record_many([]) == 0
    stored = list(TransactionEvent.objects.filter(transaction__in=txs).order_by("id"))
    assert [e.transaction_id for e in stored] == [tx.id for tx in txs]
    assert all(e.detail == {"attempt": 1, "batch": 3} for e in stored)


def test_record_many_takes_mappings_of_events_arguments_too():
    tx = TransactionFactory()
    rows = [
        {
            "transaction": tx,
            "kind": EventKind.DISPATCHED,
            "previous": "pending",
            "new": "dispatched",
            "actor": "a",
        }
    ]
    assert events.record_many(rows) == 1
    assert TransactionEvent.objects.get(transaction_id=tx.pk).actor == "a"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guard is PostgreSQL's")
@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_change_or_remove_an_event(change):
    tx = TransactionFactory()
    row = events.record(tx, EventKind.CREATED, previous=None, new=Status.PENDING)
    with pytest.raises(DatabaseError, match="append-only"), db.atomic():
        qs = TransactionEvent.objects.filter(pk=row.pk)
        qs.update(kind="updated") if change == "update" else qs.delete()
    assert TransactionEvent.objects.get(pk=row.pk).kind == "created"
