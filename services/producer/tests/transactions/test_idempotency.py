import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from producer.transactions.idempotency import idempotency_keys_purge
from producer.transactions.models import IdempotencyKey, Transaction
from tests.factories import transfer

pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions/"


def post(api, body, key):
    return api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_same_body_replays_the_first_answer(api):
    first = post(api, transfer(), "k-1")
    second = post(api, transfer(), "k-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1


def test_same_key_different_body_is_409(api):
    post(api, transfer(), "k-1")
    response = post(api, transfer(amount="1.00"), "k-1")
    assert response.status_code == 409
    assert Transaction.objects.count() == 1


def test_keys_are_scoped_to_the_client(api, other_api):
    assert post(api, transfer(), "shared").status_code == 201
    assert post(other_api, transfer(amount="2"), "shared").status_code == 201
    assert Transaction.objects.count() == 2


def test_an_invalid_request_does_not_use_up_the_key(api):
    assert post(api, transfer(amount="0"), "k-1").status_code == 400
    assert post(api, transfer(), "k-1").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_blank_or_too_long_key_is_a_400(api, key):
    response = post(api, transfer(), key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


def test_a_255_character_key_is_fine(api):
    assert post(api, transfer(), "x" * 255).status_code == 201


def test_an_expired_key_starts_afresh_and_the_purge_forgets_it(api, settings):
    post(api, transfer(), "k-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=49))
    assert post(api, transfer(amount="3"), "k-1").status_code == 201
    assert Transaction.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=49))
    assert idempotency_keys_purge() == 1
    assert not IdempotencyKey.objects.exists()


def test_keys_are_kept_at_least_24_hours(api):
    post(api, transfer(), "k-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=5))
    assert idempotency_keys_purge() == 0
    assert post(api, transfer(amount="9"), "k-1").status_code == 409


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locking")
def test_concurrent_requests_with_one_key_make_exactly_one_transaction(api):
    # Given 8 threads posting the same body with the same key at once
    barrier = threading.Barrier(8)
    answers: list[tuple[int, bytes]] = []

    def send() -> None:
        try:
            barrier.wait()
            response = post(api, transfer(), "race")
            answers.append((response.status_code, response.content))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one transaction exists and every answer is that same 201
    assert Transaction.objects.count() == 1
    assert {status for status, _ in answers} == {201}
    assert len({content for _, content in answers}) == 1
