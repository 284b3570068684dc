"""Deciding a review over the consumer's API, end to end: the producer's transaction gets
the final decision and its review record, exactly once (any deployment by URL)."""

from __future__ import annotations

import pytest

from tests.conftest import transaction_body, wait_for, wait_terminal

# 100 EUR to a high-risk country: the consumer's rules hold it for review.
HIGH_RISK_IBAN = "RU0900000000000000000001111111111"


@pytest.fixture
def held(deployment):
    if not deployment.consumer_token:
        pytest.skip("needs CONSUMER_API_TOKEN")
    body = transaction_body(amount="100.00", destination_account=HIGH_RISK_IBAN)
    tx = deployment.producer.post("/api/v1/transactions/", json=body).json()
    done = wait_terminal(deployment.producer, tx["id"])
    assert done["result"]["decision"] == "review", done
    return done


def test_a_review_decided_over_the_api_reaches_the_producer_once(deployment, held):
    consumer, tx_id = deployment.consumer, held["id"]
    url = f"/api/v1/transactions/{tx_id}/review/"

    first = consumer.post(url, json={"decision": "declined", "note": "e2e", "reviewer": "e2e"})
    second = consumer.post(url, json={"decision": "approved", "note": "", "reviewer": "other"})

    assert first.status_code == 200, first.text
    assert first.json()["result"]["decision"] == "declined"
    assert (second.status_code, second.json()["code"]) == (409, "already_decided")

    def resolved():
        body = deployment.producer.get(f"/api/v1/transactions/{tx_id}/").json()
        return body if body["result"]["decision"] == "declined" else None

    result = wait_for(resolved, timeout=30)["result"]
    assert result["review"]["reviewer"] == "e2e"
    assert result["review"]["initial_risk_score"] == held["result"]["risk_score"]
    assert result["fee"] in {"0.00", "0"}
    # And the consumer's list finds it by its (unique) account and its current decision
    mine = {"account": held["source_account"]}
    now = consumer.get("/api/v1/transactions/", params={**mine, "decision": "declined"}).json()
    before = consumer.get("/api/v1/transactions/", params={**mine, "decision": "review"}).json()
    assert [t["id"] for t in now["results"]] == [tx_id]
    assert before["results"] == []


def test_a_transaction_not_in_review_is_409(deployment):
    if not deployment.consumer_token:
        pytest.skip("needs CONSUMER_API_TOKEN")
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    wait_terminal(deployment.producer, tx["id"])

    answer = deployment.consumer.post(
        f"/api/v1/transactions/{tx['id']}/review/",
        json={"decision": "approved", "note": "", "reviewer": "e2e"},
    )

    assert (answer.status_code, answer.json()["code"]) == (409, "not_in_review")
