"""``GET /api/v1/transactions/{id}/events/``: the trail, oldest first, the client's only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from producer.transactions import events
from producer.transactions.models import EventKind, Transaction
from tests.factories import transfer

pytestmark = pytest.mark.django_db


def created(api) -> Transaction:
    response = api.post("/api/v1/transactions/", transfer(), format="json")
    return Transaction.objects.get(id=response.json()["id"])


def test_the_trail_oldest_first_in_the_contracts_shape(api):
    tx = created(api)
    events.record(
        tx, EventKind.DISPATCHED, previous="pending", new="dispatched", detail={"attempt": 1}
    )
    response = api.get(f"/api/v1/transactions/{tx.id}/events/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    first, second = body["results"]
    assert set(first) == {
        "at",
        "type",
        "from_status",
        "to_status",
        "detail",
        "correlation_id",
        "actor",
    }
    assert (first["type"], first["from_status"], first["to_status"]) == (
        "created",
        None,
        "pending",
    )
    assert first["at"].endswith("Z")
    assert first["correlation_id"] == tx.correlation_id
    assert (second["type"], second["detail"]) == ("dispatched", {"attempt": 1})


def test_the_trail_pages_with_a_cursor(api):
    tx = created(api)
    for n in range(4):
        event = events.event(tx, EventKind.UPDATED, previous="pending", new="pending")
        event.at = tx.created_at + timedelta(seconds=n + 1)
        event.detail = {"n": n}
        events.record_many([event])
    page = api.get(f"/api/v1/transactions/{tx.id}/events/?limit=2").json()
    assert [e["type"] for e in page["results"]] == ["created", "updated"]
    rest = api.get(page["next"]).json()
    assert [e["detail"] for e in rest["results"]] == [{"n": 1}, {"n": 2}]
    assert api.get(f"/api/v1/transactions/{tx.id}/events/?limit=501").status_code == 400


def test_another_clients_transaction_answers_404(api, other_api):
    tx = created(api)
    assert other_api.get(f"/api/v1/transactions/{tx.id}/events/").status_code == 404
    assert api.get(f"/api/v1/transactions/{tx.id}/events/").status_code == 200


def test_without_a_key_it_is_401(api):
    tx = created(api)
    assert APIClient().get(f"/api/v1/transactions/{tx.id}/events/").status_code == 401


def test_the_schema_documents_the_endpoint(api):
    schema = APIClient().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/transactions/{id}/events/"]["get"]
    assert "audit trail" in operation["summary"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/TransactionEventPage"}
    assert set(schema["components"]["schemas"]["TransactionEventPage"]["properties"]) == {
        "next",
        "previous",
        "results",
    }
