import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from bankflow import webhooks
from producer.transactions.models import Status, WebhookReceipt
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/consumer/"
RESULT = {
    "decision": "approved",
    "risk_score": 12,
    "reasons": [],
    "fee": "1.25",
    "processed_at": "2026-11-21T10:00:01Z",
}


def processed(tx, **extra):
    return {"transaction_id": str(tx.id), "status": "processed", "result": RESULT, **extra}


def failed(tx, reason="declined by rules"):
    return {"transaction_id": str(tx.id), "status": "failed", "reason": reason}


def message(*results):
    return {"type": "transaction.results", "results": list(results)}


def deliver(client, payload, *, secret=None, msg_id="msg_1", timestamp=None, headers=None):
    from django.conf import settings

    body = payload if isinstance(payload, str) else json.dumps(payload)
    signed = webhooks.sign(
        secret or settings.WEBHOOK_SECRETS[0], msg_id=msg_id, body=body, timestamp=timestamp
    )
    signed.update(headers or {})
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}
    return client.post(URL, body, content_type="application/json", **meta)


def received(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "bankflow_producer_webhooks_received_total", {"outcome": outcome}
    )
    return value or 0.0


def test_a_signed_message_applies_each_result_without_an_api_key(client):
    # Given two dispatched transactions
    ok = TransactionFactory(status=Status.DISPATCHED)
    ko = TransactionFactory(status=Status.DISPATCHED)
    before = received("applied")
    # When the consumer reports one processed and one failed
    response = deliver(client, message(processed(ok), failed(ko)))
    # Then both are applied
    assert response.status_code == 200
    assert response.json() == {"applied": 2, "ignored": 0}
    ok.refresh_from_db()
    ko.refresh_from_db()
    assert (ok.status, ok.result) == (Status.PROCESSED, RESULT)
    assert (ko.status, ko.failure_reason) == (Status.FAILED, "declined by rules")
    assert received("applied") == before + 1


def test_a_result_may_overtake_the_dispatcher_pending_to_processed(client):
    tx = TransactionFactory(status=Status.PENDING)
    response = deliver(client, message(processed(tx)))
    assert response.json() == {"applied": 1, "ignored": 0}
    tx.refresh_from_db()
    assert tx.status == Status.PROCESSED


@pytest.mark.parametrize("status", [Status.PROCESSED, Status.FAILED, Status.CANCELLED])
def test_a_transaction_already_final_is_left_as_it_is(client, status):
    tx = TransactionFactory(status=status, failure_reason="first")
    response = deliver(client, message(failed(tx, reason="second")))
    assert response.json() == {"applied": 0, "ignored": 1}
    tx.refresh_from_db()
    assert (tx.status, tx.failure_reason) == (status, "first")


def test_unknown_ids_are_ignored_and_the_rest_applied(client):
    tx = TransactionFactory(status=Status.DISPATCHED)
    stranger = {"transaction_id": str(uuid.uuid4()), "status": "failed", "reason": "x"}
    response = deliver(client, message(stranger, processed(tx)))
    assert response.json() == {"applied": 1, "ignored": 1}


def test_a_webhook_id_already_applied_answers_200_and_changes_nothing(client):
    tx = TransactionFactory(status=Status.DISPATCHED)
    other = TransactionFactory(status=Status.DISPATCHED)
    deliver(client, message(processed(tx)), msg_id="msg_same")
    before = received("duplicate")
    response = deliver(client, message(failed(other)), msg_id="msg_same")
    assert response.status_code == 200
    assert response.json() == {"duplicate": True}
    other.refresh_from_db()
    assert other.status == Status.DISPATCHED
    assert WebhookReceipt.objects.get(msg_id="msg_same").applied == 1
    assert received("duplicate") == before + 1


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-signature": "v1,AAAA"},
        {"webhook-signature": "garbage"},
        {"webhook-signature": ""},
        {"webhook-id": "msg_other"},  # the signature covers the id
    ],
)
def test_a_bad_signature_is_401_and_nothing_changes(client, headers):
    tx = TransactionFactory(status=Status.DISPATCHED)
    before = received("unauthorized")
    response = deliver(client, message(processed(tx)), headers=headers)
    assert response.status_code == 401
    tx.refresh_from_db()
    assert tx.status == Status.DISPATCHED
    assert not WebhookReceipt.objects.exists()
    assert received("unauthorized") == before + 1


def test_a_wrong_secret_or_missing_headers_is_401(client):
    tx = TransactionFactory(status=Status.DISPATCHED)
    body = message(processed(tx))
    assert deliver(client, body, secret=webhooks.generate_secret()).status_code == 401
    assert client.post(URL, body, content_type="application/json").status_code == 401


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_a_timestamp_more_than_five_minutes_off_is_401(client, skew):
    tx = TransactionFactory(status=Status.DISPATCHED)
    when = datetime.now(tz=UTC) + skew
    assert deliver(client, message(processed(tx)), timestamp=when).status_code == 401


def test_any_configured_secret_verifies_so_secrets_can_rotate(client, settings):
    old, new = webhooks.generate_secret(), webhooks.generate_secret()
    settings.WEBHOOK_SECRETS = [new, old]
    tx = TransactionFactory(status=Status.DISPATCHED)
    assert deliver(client, message(processed(tx)), secret=old).status_code == 200
    other = TransactionFactory(status=Status.DISPATCHED)
    response = deliver(client, message(processed(other)), secret=new, msg_id="msg_2")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        [],
        {"type": "transaction.results", "results": []},
        {"type": "something.else", "results": [{"transaction_id": str(uuid.uuid4())}]},
        message({"transaction_id": "nope", "status": "failed"}),
        message({"transaction_id": str(uuid.uuid4()), "status": "weird"}),
        message({"transaction_id": str(uuid.uuid4()), "status": "processed"}),
        message({"transaction_id": str(uuid.uuid4()), "status": "processed", "result": "x"}),
        message(
            {
                "transaction_id": str(uuid.uuid4()),
                "status": "processed",
                "result": {**RESULT, "risk_score": 101},
            }
        ),
    ],
)
def test_a_signed_but_malformed_body_is_400_and_nothing_is_recorded(client, payload):
    before = received("invalid")
    response = deliver(client, payload)
    assert response.status_code == 400
    assert not WebhookReceipt.objects.exists()
    assert received("invalid") == before + 1


def test_more_than_1000_results_is_400(client):
    results = [failed(TransactionFactory.build())] * 1001
    assert deliver(client, message(*results)).status_code == 400


def test_applying_a_result_records_end_to_end_latency(client, django_capture_on_commit_callbacks):
    name = "bankflow_producer_end_to_end_seconds_count"
    before = REGISTRY.get_sample_value(name) or 0
    tx = TransactionFactory(status=Status.DISPATCHED)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, message(processed(tx)))
    assert REGISTRY.get_sample_value(name) == before + 1
