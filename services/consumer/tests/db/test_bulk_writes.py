"""bankflow.db's bulk writes against the test database (PostgreSQL when it answers: the
unnest path; SQLite otherwise: the fallbacks), on a model with JSON, NULL, Decimal and
datetime columns."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from bankflow.db import insert_new_rows, update_rows
from consumer.intake.models import ReceivedTransaction, Status
from tests.factories import DE, FR, ReceivedTransactionFactory

pytestmark = pytest.mark.django_db

FIELDS = [f.name for f in ReceivedTransaction._meta.concrete_fields]


def unsaved(**kwargs) -> ReceivedTransaction:
    row = ReceivedTransactionFactory.build(**kwargs)
    row.received_at = timezone.now()
    return row


def test_insert_new_rows_returns_exactly_the_rows_it_inserted():
    existing = ReceivedTransactionFactory()
    fresh = [unsaved(amount=Decimal("0.000001") * (i + 1), created_at=None) for i in range(3)]
    again = unsaved(id=existing.id, reference="another body")

    inserted = insert_new_rows(ReceivedTransaction, [*fresh, again], FIELDS)

    assert inserted == {row.id for row in fresh}
    stored = {row.id: row for row in ReceivedTransaction.objects.all()}
    assert stored[existing.id].reference == existing.reference  # left as it was
    assert [stored[row.id].amount for row in fresh] == [row.amount for row in fresh]
    assert all(stored[row.id].created_at is None for row in fresh)


def test_insert_new_rows_in_chunks(monkeypatch):
    monkeypatch.setattr("bankflow.db.CHUNK", 2)
    rows = [unsaved() for _ in range(5)]
    assert insert_new_rows(ReceivedTransaction, rows, FIELDS) == {row.id for row in rows}
    assert ReceivedTransaction.objects.count() == 5


def test_update_rows_writes_each_row_its_own_values_json_and_null_included():
    rows = ReceivedTransactionFactory.create_batch(3, source_account=DE, destination_account=FR)
    results = [{"decision": "approved", "reasons": [f"r{i}"], "fee": "0.50"} for i in range(3)]
    for row, result in zip(rows, results, strict=True):
        row.status, row.result, row.processed_at = Status.PROCESSED, result, timezone.now()
    rows[2].result, rows[2].status, rows[2].failure_reason = None, Status.FAILED, "no"
    untouched = ReceivedTransactionFactory()

    count = update_rows(
        ReceivedTransaction, rows, ["status", "result", "failure_reason", "processed_at"]
    )

    assert count == 3
    stored = {row.id: row for row in ReceivedTransaction.objects.all()}
    assert [stored[r.id].result for r in rows] == [results[0], results[1], None]
    assert [stored[r.id].status for r in rows] == [Status.PROCESSED, Status.PROCESSED, "failed"]
    assert stored[rows[2].id].failure_reason == "no"
    assert stored[untouched.id].status == Status.RECEIVED


def test_update_rows_of_unknown_ids_changes_nothing():
    ghost = unsaved(id=uuid.uuid4(), status=Status.PROCESSED)
    assert update_rows(ReceivedTransaction, [ghost], ["status"]) == 0
