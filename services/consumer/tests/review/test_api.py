import uuid

import pytest

from consumer.intake.models import Status
from consumer.ledger.models import Entry
from tests.factories import DE, FR, ReceivedTransactionFactory
from tests.review.test_services import HELD, held

pytestmark = pytest.mark.django_db


def url(tx_id):
    return f"/api/v1/transactions/{tx_id}/review/"


def test_a_review_is_decided_over_the_api(api, producer):
    tx = held()

    response = api.post(
        url(tx.id), {"decision": "approved", "note": "ok", "reviewer": "ops-bot"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(tx.id) and body["status"] == "processed"
    assert body["result"]["decision"] == "approved"
    assert body["result"]["review"]["reviewer"] == "ops-bot"
    resolved = [e for e in body["events"] if e["type"] == "review_resolved"]
    assert [(e["actor"], e["detail"]["decision"]) for e in resolved] == [
        ("reviewer:ops-bot", "approved")
    ]
    assert body["webhook"]["state"] in {"pending", "delivered"}
    assert Entry.objects.filter(transaction_id=tx.id).count() == 4


def test_a_second_decision_is_409_already_decided(api, producer):
    tx = held()
    api.post(url(tx.id), {"decision": "declined", "reviewer": "a"}, format="json")

    response = api.post(url(tx.id), {"decision": "approved", "reviewer": "b"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_decided"


def test_a_transaction_not_in_review_is_409(api):
    tx = ReceivedTransactionFactory(processed=True)

    response = api.post(url(tx.id), {"decision": "approved", "reviewer": "a"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "not_in_review"


@pytest.mark.parametrize("tx_id", [uuid.uuid4(), "not-a-uuid"])
def test_an_unknown_transaction_is_404(api, tx_id):
    response = api.post(url(tx_id), {"decision": "approved", "reviewer": "a"}, format="json")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "review", "reviewer": "a"}, "decision"),
        ({"decision": "approved"}, "reviewer"),
        ({"decision": "approved", "reviewer": "a", "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_400_field_by_field(api, body, field):
    tx = held()

    response = api.post(url(tx.id), body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_body_that_is_not_json_is_400(api):
    tx = held()

    response = api.post(url(tx.id), "{nope", content_type="application/json")

    assert response.status_code == 400


def test_the_review_api_needs_the_service_token(client):
    tx = held()

    response = client.post(url(tx.id), {"decision": "approved", "reviewer": "a"})

    assert response.status_code == 401


# --- the list -------------------------------------------------------------------------


def test_the_list_is_oldest_first_and_cursor_paginated(api):
    txs = [ReceivedTransactionFactory() for _ in range(3)]

    first = api.get("/api/v1/transactions/?limit=2").json()
    second = api.get(first["next"]).json()

    assert [t["id"] for t in first["results"] + second["results"]] == [str(t.id) for t in txs]
    assert second["next"] is None
    assert set(first["results"][0]) == {
        "id",
        "status",
        "result",
        "failure_reason",
        "webhook",
        "events",
    }


def test_the_list_filters_by_status_decision_and_account(api):
    review = held(source_account=DE, destination_account=FR)
    approved = ReceivedTransactionFactory(processed=True, source_account=FR, destination_account=DE)
    failed = ReceivedTransactionFactory(failed=True)

    def ids(query):
        return {t["id"] for t in api.get(f"/api/v1/transactions/?{query}").json()["results"]}

    assert ids("decision=review") == {str(review.id)}
    assert ids("status=failed") == {str(failed.id)}
    assert ids("status=processed&decision=approved") == {str(approved.id)}
    assert ids("account=de89 3704 0044 0532 0130 00") >= {str(review.id), str(approved.id)}


@pytest.mark.parametrize(
    "query", ["limit=501", "limit=0", "status=nope", "decision=maybe", "account=XX00", "cursor=zz"]
)
def test_bad_list_filters_are_400(api, query):
    assert api.get(f"/api/v1/transactions/?{query}").status_code == 400


def test_the_list_shows_the_latest_webhook_state(api, producer, django_capture_on_commit_callbacks):
    tx = held()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(url(tx.id), {"decision": "declined", "reviewer": "a"}, format="json")

    item = api.get("/api/v1/transactions/?decision=declined").json()["results"][0]

    assert item["webhook"]["state"] == "delivered"
    assert item["status"] == Status.PROCESSED
    assert HELD["risk_score"] == item["result"]["risk_score"]
