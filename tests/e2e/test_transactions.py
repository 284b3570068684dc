"""The producer's API as a client sees it, through to the consumer's result."""

import uuid
from decimal import Decimal

import pytest

from tests.conftest import transaction_body, unique_iban, wait_for, wait_terminal


def test_created_transaction_is_processed_and_reported_back(deployment):
    # Given a valid transfer
    body = transaction_body(amount="125.50")
    # When it is created
    created = deployment.producer.post("/api/v1/transactions/", json=body)
    assert created.status_code == 201, created.text
    tx = created.json()
    assert tx["status"] in {"pending", "dispatched"}
    assert tx["amount"] == "125.50"
    # Then it reaches "processed" with a result, by itself
    final = wait_terminal(deployment.producer, tx["id"])
    assert final["status"] == "processed", final
    result = final["result"]
    assert result["decision"] in {"approved", "review", "declined"}
    assert 0 <= result["risk_score"] <= 100
    assert Decimal(result["fee"]) >= 0
    assert isinstance(result["reasons"], list)
    # And the consumer shows the same outcome with its webhook delivered
    if deployment.consumer_token:
        seen = deployment.consumer.get(f"/api/v1/transactions/{tx['id']}/").json()
        assert seen["status"] == "processed"
        assert seen["result"]["decision"] == result["decision"]
        assert seen["webhook"]["state"] == "delivered"
        assert seen["webhook"]["attempts"] >= 1
        assert seen["webhook"]["last_status_code"] == 200


def test_ibans_are_normalised_and_amounts_are_strings(deployment):
    source = unique_iban()
    spaced = " ".join(source[i : i + 4] for i in range(0, len(source), 4)).lower()
    created = deployment.producer.post(
        "/api/v1/transactions/", json=transaction_body(source_account=spaced, amount=10)
    )
    assert created.status_code == 201, created.text
    assert created.json()["source_account"] == source
    assert created.json()["amount"] == "10.00"


def test_bad_input_is_a_field_level_400(deployment):
    api = deployment.producer
    bad = api.post("/api/v1/transactions/", json=transaction_body(amount="1.001", currency="EUR"))
    assert bad.status_code == 400
    assert "amount" in bad.json()
    unknown = api.post("/api/v1/transactions/", json={**transaction_body(), "colour": "red"})
    assert unknown.status_code == 400
    assert "colour" in unknown.json()
    not_json = api.post(
        "/api/v1/transactions/", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


def test_idempotency_key_replays_and_conflicts(deployment):
    api = deployment.producer
    key = f"e2e-{uuid.uuid4()}"
    body = transaction_body()
    first = api.post("/api/v1/transactions/", json=body, headers={"Idempotency-Key": key})
    again = api.post("/api/v1/transactions/", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    changed = api.post(
        "/api/v1/transactions/", json={**body, "amount": "1.00"}, headers={"Idempotency-Key": key}
    )
    assert changed.status_code == 409


def test_bulk_is_all_or_nothing_and_all_reach_a_final_status(deployment):
    api = deployment.producer
    reference = f"BULK-{uuid.uuid4().hex[:8]}"
    bad = [
        transaction_body(reference=reference),
        transaction_body(amount="-1", reference=reference),
    ]
    refused = api.post("/api/v1/transactions/bulk/", json=bad)
    assert refused.status_code == 400
    assert "1" in refused.json()
    items = [transaction_body(reference=reference) for _ in range(50)]
    created = api.post("/api/v1/transactions/bulk/", json=items)
    assert created.status_code == 201, created.text
    ids = [tx["id"] for tx in created.json()]
    assert len(ids) == 50

    def all_processed():
        return all(
            api.get(f"/api/v1/transactions/{tx_id}/").json()["status"] == "processed"
            for tx_id in ids
        )

    wait_for(all_processed, timeout=60, interval=0.5)


def test_list_filters_and_pagination(deployment):
    api = deployment.producer
    account = unique_iban()
    for amount in ("1.00", "2.00", "3.00"):
        assert (
            api.post(
                "/api/v1/transactions/",
                json=transaction_body(source_account=account, amount=amount),
            ).status_code
            == 201
        )
    page = api.get("/api/v1/transactions/", params={"account": account, "limit": 2}).json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = api.get(page["next"].replace(deployment.producer_url, "")).json()
    assert len(rest["results"]) == 1
    assert {tx["amount"] for tx in page["results"] + rest["results"]} == {"1.00", "2.00", "3.00"}


def test_another_clients_transaction_is_404(deployment):
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    stranger = deployment.anonymous()
    stranger.session.headers["Authorization"] = "Bearer bf_" + "x" * 40
    assert stranger.get(f"/api/v1/transactions/{tx['id']}/").status_code == 401
    assert deployment.producer.get(f"/api/v1/transactions/{uuid.uuid4()}/").status_code == 404


def test_final_transactions_cannot_be_changed(deployment):
    api = deployment.producer
    tx = api.post("/api/v1/transactions/", json=transaction_body()).json()
    wait_terminal(api, tx["id"])
    assert (
        api.patch(f"/api/v1/transactions/{tx['id']}/", json={"description": "x"}).status_code == 409
    )
    assert api.delete(f"/api/v1/transactions/{tx['id']}/").status_code == 409
    assert api.post(f"/api/v1/transactions/{tx['id']}/retry/").status_code == 409


def test_approved_deposit_moves_the_ledger(deployment):
    if not deployment.consumer_token:
        pytest.skip("CONSUMER_API_TOKEN is not set for this deployment")
    account = unique_iban()
    tx = deployment.producer.post(
        "/api/v1/transactions/",
        json=transaction_body(
            type="deposit", source_account=None, destination_account=account, amount="40.00"
        ),
    ).json()
    final = wait_terminal(deployment.producer, tx["id"])
    assert final["status"] == "processed", final
    balances = deployment.consumer.get(f"/api/v1/accounts/{account}/")
    if final["result"]["decision"] != "approved":
        return  # a declined or held deposit posts nothing; the fault tests cover postings
    assert balances.status_code == 200, balances.text
    fee = Decimal(final["result"]["fee"])
    assert balances.json() == {"iban": account, "balances": {"EUR": str(Decimal("40.00") - fee)}}
