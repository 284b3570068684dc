import json
from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone
from prometheus_client import REGISTRY

from producer.transactions import outbox
from producer.transactions.models import OutboxMessage, OutboxState, Status, Transaction
from producer.transactions.outbox import (
    backoff_seconds,
    dispatch_kick,
    outbox_dispatch_batch,
    outbox_drain,
)
from producer.transactions.services import transaction_cancel
from tests.conftest import INTAKE_URL
from tests.factories import ClientFactory, OutboxMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return ClientFactory()


def rows(tenant, n: int = 3, **kwargs) -> list[OutboxMessage]:
    return OutboxMessageFactory.create_batch(n, transaction__client=tenant, **kwargs)


def fresh(messages):
    return [OutboxMessage.objects.select_related("transaction").get(id=m.id) for m in messages]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@responses.activate
def test_due_rows_go_in_one_request_and_become_sent_and_dispatched(tenant, settings):
    # Given three pending rows and a consumer that accepts
    messages = rows(tenant)
    responses.post(INTAKE_URL, status=202, json={"accepted": [], "duplicates": []})
    dispatched_before = sample("bankflow_producer_transactions_dispatched_total")
    # When one batch is dispatched
    assert outbox_dispatch_batch(batch_size=10) == 3
    # Then one request carried all three, authenticated, with the pipeline's fields
    assert len(responses.calls) == 1
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {settings.CONSUMER_API_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    items = json.loads(request.body)
    assert [item["id"] for item in items] == [str(m.transaction_id) for m in messages]
    assert set(items[0]) == {
        "id",
        "reference",
        "type",
        "amount",
        "currency",
        "source_account",
        "destination_account",
        "description",
        "created_at",
        "client_id",
        "correlation_id",
    }
    assert items[0]["amount"] == "125.50"
    assert items[0]["client_id"] == str(tenant.id)
    # And every row is sent, every transaction dispatched
    for message in fresh(messages):
        assert message.state == OutboxState.SENT
        assert message.sent_at is not None
        assert message.transaction.status == Status.DISPATCHED
    assert sample("bankflow_producer_transactions_dispatched_total") == dispatched_before + 3


@responses.activate
def test_the_intake_request_carries_the_bound_correlation_id(tenant):
    from bankflow.logging import correlation

    rows(tenant, 1)
    responses.post(INTAKE_URL, status=202, json={})
    with correlation("task-123"):
        outbox_dispatch_batch(batch_size=10)
    assert responses.calls[0].request.headers["X-Correlation-ID"] == "task-123"


@responses.activate
def test_a_result_that_overtook_the_dispatcher_is_not_undone(tenant):
    # Given a transaction the webhook already processed while its row was in flight
    (message,) = rows(tenant, 1)
    responses.post(INTAKE_URL, status=202, json={})
    Transaction.objects.filter(id=message.transaction_id).update(status=Status.PROCESSED)
    # When the 202 is recorded
    outbox_dispatch_batch(batch_size=10)
    # Then the transaction stays processed; only the row is settled
    (message,) = fresh([message])
    assert message.transaction.status == Status.PROCESSED
    assert message.state == OutboxState.SENT


@responses.activate
def test_batches_are_at_most_the_batch_size_and_the_drain_sends_them_all(tenant):
    rows(tenant, 5)
    responses.post(INTAKE_URL, status=202, json={})
    claimed, more = outbox_drain(batch_size=2, budget_seconds=30)
    assert (claimed, more) == (5, False)
    assert [len(json.loads(c.request.body)) for c in responses.calls] == [2, 2, 1]
    assert not OutboxMessage.objects.exclude(state=OutboxState.SENT).exists()


@responses.activate
def test_the_drain_stops_at_its_budget_and_says_more_may_be_due(tenant):
    rows(tenant, 5)
    responses.post(INTAKE_URL, status=202, json={})
    assert outbox_drain(batch_size=2, budget_seconds=0) == (2, True)


@responses.activate
def test_a_400_fails_the_named_items_and_sends_the_others_again(tenant):
    messages = rows(tenant, 3)
    responses.post(INTAKE_URL, status=400, json={"1": {"amount": ["Must be positive."]}})
    outbox_dispatch_batch(batch_size=10)
    first, rejected, third = fresh(messages)
    assert rejected.transaction.status == Status.FAILED
    assert rejected.transaction.failure_reason == (
        "rejected by the consumer: amount: Must be positive."
    )
    assert rejected.state == OutboxState.FAILED
    for message in (first, third):
        assert message.transaction.status == Status.PENDING
        assert message.state == OutboxState.PENDING
        assert message.available_at <= timezone.now()
    # And the next batch sends only the two others
    responses.replace(responses.POST, INTAKE_URL, status=202, json={})
    outbox_dispatch_batch(batch_size=10)
    assert len(json.loads(responses.calls[1].request.body)) == 2


@responses.activate
def test_a_400_without_item_indexes_fails_the_whole_batch(tenant):
    messages = rows(tenant, 2)
    responses.post(INTAKE_URL, status=400, json={"non_field_errors": ["Expected a list."]})
    outbox_dispatch_batch(batch_size=10)
    assert {m.transaction.status for m in fresh(messages)} == {Status.FAILED}


@responses.activate
def test_a_wire_version_the_consumer_does_not_know_yet_backs_off_instead_of_failing(tenant):
    messages = rows(tenant, 2)
    responses.post(
        INTAKE_URL, status=400, json={"detail": "Wire version …", "code": "unsupported_version"}
    )
    outbox_dispatch_batch(batch_size=10)
    for message in fresh(messages):
        assert message.transaction.status == Status.PENDING
        assert message.state == OutboxState.PENDING
        assert message.available_at > timezone.now()


def test_the_intake_request_says_its_wire_version(tenant):
    with responses.RequestsMock() as mock:
        mock.post(INTAKE_URL, status=202, json={})
        rows(tenant, 1)
        outbox_dispatch_batch(batch_size=10)
        assert mock.calls[0].request.headers["Bankflow-Wire-Version"] == "1"


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 503},
        {"status": 429},
        {"status": 401},
        {"body": requests.ConnectionError("refused")},
        {"body": requests.Timeout("slow")},
    ],
)
@responses.activate
def test_transient_failures_back_off_and_keep_the_transaction_pending(tenant, failure):
    # Given a consumer that fails
    messages = rows(tenant, 2)
    responses.post(INTAKE_URL, **failure)
    started = timezone.now()
    # When a batch is dispatched
    outbox_dispatch_batch(batch_size=10)
    # Then the rows wait (backoff) and the transactions stay pending
    for message in fresh(messages):
        assert message.state == OutboxState.PENDING
        assert message.attempts == 1
        assert message.last_error
        assert started + timedelta(seconds=0.4) <= message.available_at
        assert message.available_at <= timezone.now() + timedelta(seconds=1.1)
        assert message.transaction.status == Status.PENDING
    # And nothing is due until the backoff has passed
    assert outbox_dispatch_batch(batch_size=10) == 0


@pytest.mark.parametrize("attempts", [1, 2, 3, 6, 7, 20])
def test_backoff_is_exponential_capped_and_jittered(settings, attempts):
    settings.DISPATCH_BACKOFF_BASE_SECONDS = 1
    settings.DISPATCH_BACKOFF_MAX_SECONDS = 60
    ceiling = min(60, 2 ** (attempts - 1))
    delays = {backoff_seconds(attempts) for _ in range(50)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1


@responses.activate
def test_after_the_last_attempt_the_transaction_fails_with_a_reason(tenant, settings):
    # Given a row that has used all but one attempt
    settings.DISPATCH_MAX_ATTEMPTS = 8
    (message,) = rows(tenant, 1, attempts=7)
    responses.post(INTAKE_URL, status=503)
    # When the last attempt fails too
    outbox_dispatch_batch(batch_size=10)
    # Then the transaction is failed, saying why
    (message,) = fresh([message])
    assert message.state == OutboxState.FAILED
    assert message.transaction.status == Status.FAILED
    assert message.transaction.failure_reason.startswith("consumer unreachable after 8 attempts")


@responses.activate
def test_an_expired_claim_is_dispatched_again_and_a_live_one_is_not(tenant):
    past, future = timezone.now() - timedelta(seconds=1), timezone.now() + timedelta(minutes=1)
    (expired,) = rows(tenant, 1, state=OutboxState.IN_FLIGHT, claimed_until=past, attempts=1)
    rows(tenant, 1, state=OutboxState.IN_FLIGHT, claimed_until=future, attempts=1)
    responses.post(INTAKE_URL, status=202, json={})
    assert outbox_dispatch_batch(batch_size=10) == 1
    assert json.loads(responses.calls[0].request.body)[0]["id"] == str(expired.transaction_id)
    assert fresh([expired])[0].attempts == 2


@responses.activate
def test_backed_off_sent_failed_and_cancelled_rows_are_not_claimed(tenant):
    rows(tenant, 1, available_at=timezone.now() + timedelta(minutes=1))
    for state in (OutboxState.SENT, OutboxState.FAILED, OutboxState.CANCELLED):
        rows(tenant, 1, state=state)
    assert outbox_dispatch_batch(batch_size=10) == 0
    assert not responses.calls


@responses.activate
def test_a_cancelled_transaction_is_never_sent(tenant):
    # Given a pending transaction cancelled before the dispatcher ran
    (message,) = rows(tenant, 1)
    transaction_cancel(client=tenant, transaction_id=message.transaction_id)
    # When the dispatcher runs
    outbox_dispatch_batch(batch_size=10)
    # Then nothing reached the consumer
    assert not responses.calls
    assert fresh([message])[0].transaction.status == Status.CANCELLED


def test_the_kick_enqueues_once_per_window_and_again_after_the_dispatcher_released_it(kicks):
    dispatch_kick()
    dispatch_kick()
    assert len(kicks) == 1
    outbox._release_kick()
    dispatch_kick()
    assert len(kicks) == 2


def test_the_kicked_dispatch_lingers_so_one_batch_carries_the_window(kicks, settings):
    settings.DISPATCH_LINGER_MS = 150
    dispatch_kick()
    assert kicks == [((), {"countdown": 0.15})]


@responses.activate
def test_once_caught_up_the_drain_stops_after_the_partial_batch(tenant):
    # A partial claim means the backlog is gone: the next commits kick a lingering dispatch
    # instead of being sent one by one as they arrive.
    rows(tenant, 3)
    responses.post(INTAKE_URL, status=202, json={})
    assert outbox_drain(batch_size=10, budget_seconds=30) == (3, False)
    rows(tenant, 1)  # committed while the last batch was in flight
    assert len(responses.calls) == 1


def test_a_broken_kick_never_breaks_the_request(monkeypatch):
    def boom():
        raise ConnectionError("redis down")

    monkeypatch.setattr(outbox, "get_redis", boom)
    dispatch_kick()  # logged; the sweep catches up


def race_claim_against_cancel(tenant) -> tuple[bool, bool]:
    """(claimed, cancelled) for one pending row, claimed and cancelled at the same moment."""
    import threading

    from django.db import connections

    from bankflow.errors import Conflict
    from producer.transactions.outbox import outbox_claim

    (message,) = rows(tenant, 1)
    barrier = threading.Barrier(2)
    outcome = {"claimed": False, "cancelled": False}

    def claim() -> None:
        try:
            barrier.wait()
            outcome["claimed"] = message.id in [m.id for m in outbox_claim(batch_size=10)]
        finally:
            connections.close_all()

    def cancel() -> None:
        try:
            barrier.wait()
            transaction_cancel(client=tenant, transaction_id=message.transaction_id)
            outcome["cancelled"] = True
        except Conflict:
            pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    OutboxMessage.objects.filter(id=message.id).update(state=OutboxState.SENT)  # out of the way
    return outcome["claimed"], outcome["cancelled"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_cancel_and_claim_racing_never_both_win(tenant):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking")
    for _ in range(10):
        claimed, cancelled = race_claim_against_cancel(tenant)
        # Exactly one of them won: a cancelled transaction is never in flight
        assert claimed != cancelled
