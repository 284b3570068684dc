import uuid
from decimal import Decimal

import pytest

from consumer.intake.models import ReceivedTransaction, Status
from consumer.webhooks.models import MessageState, WebhookMessage
from tests.factories import DE, FR, ReceivedTransactionFactory, WebhookMessageFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions/"


def item(**overrides):
    body = {
        "id": str(uuid.uuid4()),
        "reference": "INV-1001",
        "type": "transfer",
        "amount": "125.50",
        "currency": "EUR",
        "source_account": DE,
        "destination_account": FR,
        "description": "rent",
        "created_at": "2026-11-21T10:00:00Z",
        "client_id": str(uuid.uuid4()),
        "correlation_id": "req-1",
    }
    body.update(overrides)
    return body


def test_one_object_is_stored_and_processed(api, producer, django_capture_on_commit_callbacks):
    body = item()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, body, format="json")

    assert response.status_code == 202
    assert response.json() == {"accepted": [body["id"]], "duplicates": []}
    row = ReceivedTransaction.objects.get(id=body["id"])
    assert row.status == Status.PROCESSED
    assert row.correlation_id == "req-1"
    assert row.amount == Decimal("125.50")


def test_a_list_is_stored_with_one_processing_task_per_chunk(
    api, settings, django_capture_on_commit_callbacks
):
    settings.PROCESSING_BATCH_SIZE = 2
    body = [item() for _ in range(5)]

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(URL, body, format="json")

    assert response.status_code == 202
    assert response.json()["accepted"] == [b["id"] for b in body]
    assert ReceivedTransaction.objects.filter(status=Status.RECEIVED).count() == 5
    assert len(callbacks) == 3  # 2 + 2 + 1 ids


def test_numbers_are_accepted_as_amounts_without_float_damage(api):
    body = item(amount=0.1)

    api.post(URL, body, format="json")

    assert ReceivedTransaction.objects.get(id=body["id"]).amount == Decimal("0.1")


def test_a_bad_list_names_each_bad_item_by_index_and_stores_nothing(api):
    body = [item(), item(amount="abc"), item(), item(type="gift", currency="EURO")]

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"1", "3"}
    assert "amount" in errors["1"]
    assert set(errors["3"]) == {"type", "currency"}
    assert not ReceivedTransaction.objects.exists()


def test_a_bad_single_object_answers_field_errors(api):
    response = api.post(URL, item(id="not-a-uuid", amount="1.1234567"), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"id", "amount"}


def test_unknown_fields_are_ignored_so_a_newer_producer_can_add_some(api):
    body = item(surprise=1)

    response = api.post(URL, body, format="json")

    assert response.status_code == 202
    assert response.json()["accepted"] == [body["id"]]


@pytest.mark.parametrize("count", [0, 1001])
def test_an_empty_or_oversized_list_is_refused(api, count):
    response = api.post(URL, [item() for _ in range(count)], format="json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not ReceivedTransaction.objects.exists()


def test_a_body_that_is_not_json_answers_400(api):
    response = api.post(URL, data="{nope", content_type="application/json")

    assert response.status_code == 400


def test_a_scalar_body_answers_400(api):
    response = api.post(URL, "hello", format="json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_a_duplicate_answers_202_and_is_not_processed_twice(
    api, producer, django_capture_on_commit_callbacks
):
    body = item()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(URL, body, format="json")
    first_result = ReceivedTransaction.objects.get(id=body["id"]).result

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, [body, item()], format="json")

    assert response.status_code == 202
    assert response.json()["duplicates"] == [body["id"]]
    assert ReceivedTransaction.objects.get(id=body["id"]).result == first_result
    assert ReceivedTransaction.objects.count() == 2


def test_a_duplicate_with_a_final_result_sends_it_again_in_a_new_message(
    api, producer, django_capture_on_commit_callbacks
):
    tx = ReceivedTransactionFactory(processed=True)
    first = WebhookMessageFactory(state=MessageState.DELIVERED)
    first.transactions.add(tx)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, item(id=str(tx.id)), format="json")

    assert response.json() == {"accepted": [], "duplicates": [str(tx.id)]}
    resent = WebhookMessage.objects.exclude(id=first.id).get()
    assert resent.state == MessageState.DELIVERED
    assert resent.payload["results"][0]["transaction_id"] == str(tx.id)
    assert resent.payload["results"][0]["result"] == tx.result


def test_a_duplicate_still_in_flight_is_not_sent_again(api, django_capture_on_commit_callbacks):
    tx = ReceivedTransactionFactory(status=Status.PROCESSING)

    with django_capture_on_commit_callbacks() as callbacks:
        api.post(URL, item(id=str(tx.id)), format="json")

    assert not callbacks
    assert not WebhookMessage.objects.exists()


def test_the_same_id_twice_in_one_body_is_one_transaction(api):
    body = item()

    response = api.post(URL, [body, body], format="json")

    assert response.json() == {"accepted": [body["id"]], "duplicates": []}


def test_detail_shows_status_result_and_webhook_state(api):
    tx = ReceivedTransactionFactory(processed=True)
    message = WebhookMessageFactory(state=MessageState.RETRYING, attempts=2, last_status_code=503)
    message.transactions.add(tx)

    response = api.get(f"{URL}{tx.id}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(tx.id),
        "status": "processed",
        "result": tx.result,
        "failure_reason": None,
        "webhook": {"state": "retrying", "attempts": 2, "last_status_code": 503},
        "events": [],
    }


def test_detail_of_a_failed_transaction_names_the_reason(api):
    tx = ReceivedTransactionFactory(failed=True)

    body = api.get(f"{URL}{tx.id}/").json()

    assert body["status"] == "failed"
    assert body["failure_reason"] == tx.failure_reason
    assert body["webhook"] is None


@pytest.mark.parametrize("tx_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_detail_of_an_unknown_id_answers_404(api, tx_id):
    response = api.get(f"{URL}{tx_id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
