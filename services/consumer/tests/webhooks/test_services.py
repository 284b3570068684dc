from datetime import timedelta

import pytest
import requests
import responses
from django.utils import timezone
from prometheus_client import REGISTRY

from consumer.webhooks.models import MessageState, WebhookAttempt, WebhookMessage
from consumer.webhooks.services import (
    webhook_deliveries_sweep,
    webhook_message_deliver,
    webhook_messages_create,
    webhook_messages_redeliver,
)
from tests.factories import ReceivedTransactionFactory, WebhookMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_jitter(settings):
    settings.WEBHOOK_RETRY_JITTER = 0


def answer_with(producer, settings, **kwargs):
    producer.replace(responses.POST, settings.PRODUCER_WEBHOOK_URL, **kwargs)


def deliver(message):
    outcome = webhook_message_deliver(message_id=message.id)
    message.refresh_from_db()
    return outcome


def test_a_200_delivers_the_message(producer):
    message = WebhookMessageFactory()

    assert deliver(message) == "delivered"
    assert message.state == MessageState.DELIVERED
    assert (message.attempts, message.last_status_code) == (1, 200)
    assert message.delivered_at is not None and message.next_attempt_at is None
    attempt = WebhookAttempt.objects.get()
    assert (attempt.outcome, attempt.status_code) == ("delivered", 200)


def test_a_500_schedules_a_retry(producer, settings, django_capture_on_commit_callbacks):
    answer_with(producer, settings, status=500, body="boom")
    message = WebhookMessageFactory()
    before = timezone.now()

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = deliver(message)

    assert outcome == "retry"
    assert message.state == MessageState.RETRYING
    assert (message.attempts, message.last_status_code, message.last_error) == (1, 500, "boom")
    assert before + timedelta(seconds=5) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=5)
    assert len(callbacks) == 1  # a countdown task for the short wait


def test_a_429_is_retried_too(producer, settings):
    answer_with(producer, settings, status=429)

    assert deliver(WebhookMessageFactory()) == "retry"


def test_a_timeout_is_retried(producer, settings):
    answer_with(producer, settings, body=requests.exceptions.ReadTimeout("slow"))
    message = WebhookMessageFactory()

    assert deliver(message) == "retry"
    assert message.last_status_code is None
    assert "ReadTimeout" in message.last_error


def test_a_400_kills_the_message_at_once(producer, settings):
    answer_with(producer, settings, status=400, json={"results": ["bad"]})
    message = WebhookMessageFactory()

    assert deliver(message) == "dead"
    assert message.state == MessageState.DEAD
    assert message.next_attempt_at is None
    assert WebhookAttempt.objects.get().outcome == "dead"


def test_a_message_not_yet_due_is_left_alone(producer):
    message = WebhookMessageFactory(
        state=MessageState.RETRYING, next_attempt_at=timezone.now() + timedelta(minutes=1)
    )

    assert deliver(message) is None
    assert not producer.calls


@pytest.mark.parametrize("state", [MessageState.DELIVERED, MessageState.DEAD])
def test_a_final_message_is_not_sent_again_by_a_stray_task(producer, state):
    assert deliver(WebhookMessageFactory(state=state)) is None
    assert not producer.calls


def test_the_schedule_is_followed_until_the_message_dies(producer, settings, time_machine):
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 30, 120]
    answer_with(producer, settings, status=503)
    time_machine.move_to(timezone.now(), tick=False)
    message = WebhookMessageFactory()
    waits = []

    while deliver(message) == "retry":
        waits.append((message.next_attempt_at - timezone.now()).total_seconds())
        time_machine.shift(waits[-1])

    assert waits == [5, 30, 120]
    assert message.state == MessageState.DEAD
    assert message.attempts == 4
    assert list(WebhookAttempt.objects.order_by("id").values_list("outcome", flat=True)) == [
        "retry",
        "retry",
        "retry",
        "dead",
    ]


def test_long_waits_are_left_to_the_sweep(producer, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_SCHEDULE = [3600]
    answer_with(producer, settings, status=502)

    with django_capture_on_commit_callbacks() as callbacks:
        deliver(WebhookMessageFactory())

    assert callbacks == []


def test_the_sweep_sends_what_is_due_and_counts_the_dead(
    producer, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - timedelta(minutes=1)
    due = WebhookMessageFactory(state=MessageState.RETRYING, next_attempt_at=long_ago)
    WebhookMessageFactory(
        state=MessageState.RETRYING, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    WebhookMessageFactory(next_attempt_at=timezone.now())  # its own task is on its way
    WebhookMessageFactory(state=MessageState.DEAD, next_attempt_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliveries_sweep() == 1

    due.refresh_from_db()
    assert due.state == MessageState.DELIVERED
    assert REGISTRY.get_sample_value("bankflow_consumer_webhooks_dead") == 1


def test_the_sweep_enqueues_a_waiting_message_once_per_grace_period(
    producer, django_capture_on_commit_callbacks
):
    # Given a message due long ago whose delivery task sits in a long queue
    WebhookMessageFactory(
        state=MessageState.RETRYING, next_attempt_at=timezone.now() - timedelta(minutes=1)
    )
    # When the sweep runs twice in a row (its tasks not yet run)
    with django_capture_on_commit_callbacks() as first:
        assert webhook_deliveries_sweep() == 1
    with django_capture_on_commit_callbacks() as second:
        assert webhook_deliveries_sweep() == 0
    # Then it was enqueued once, not once per sweep
    assert len(first) == 1
    assert second == []


def test_redelivery_revives_dead_messages_with_a_fresh_schedule(
    producer, django_capture_on_commit_callbacks
):
    dead = WebhookMessageFactory(state=MessageState.DEAD, attempts=11, next_attempt_at=None)
    delivered = WebhookMessageFactory(state=MessageState.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True):
        ids = webhook_messages_redeliver(message_ids=[delivered.id], dead=True)

    assert ids == [dead.id]
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (MessageState.DELIVERED, 1)


def test_results_are_split_into_messages_of_at_most_1000(monkeypatch):
    monkeypatch.setattr("consumer.webhooks.services.MAX_RESULTS_PER_MESSAGE", 2)
    rows = ReceivedTransactionFactory.create_batch(5, processed=True)
    rows.append(ReceivedTransactionFactory())  # not final: no result to send

    messages = webhook_messages_create(transactions=rows)

    assert [m.result_count for m in messages] == [2, 2, 1]
    assert WebhookMessage.objects.count() == 3
    assert all(m.id.startswith("msg_") for m in messages)
