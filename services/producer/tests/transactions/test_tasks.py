from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from prometheus_client import REGISTRY

from producer.transactions import tasks
from producer.transactions.models import IdempotencyKey, OutboxState, WebhookReceipt
from tests.conftest import INTAKE_URL
from tests.factories import ClientFactory, OutboxMessageFactory

pytestmark = pytest.mark.django_db


def backlog() -> float | None:
    return REGISTRY.get_sample_value("bankflow_producer_outbox_backlog")


def test_sweep_sets_the_backlog_and_kicks_dispatch_when_rows_are_due(kicks):
    OutboxMessageFactory()
    OutboxMessageFactory(state=OutboxState.SENT)
    assert tasks.sweep_outbox() is True
    assert backlog() == 1
    assert len(kicks) == 1


def test_sweep_kicks_for_an_expired_claim(kicks):
    OutboxMessageFactory(
        state=OutboxState.IN_FLIGHT, claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert tasks.sweep_outbox() is True
    assert len(kicks) == 1


def test_sweep_does_nothing_when_nothing_is_due(kicks):
    OutboxMessageFactory(available_at=timezone.now() + timedelta(minutes=1))
    OutboxMessageFactory(
        state=OutboxState.IN_FLIGHT, claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert tasks.sweep_outbox() is False
    assert backlog() == 2
    assert kicks == []


@responses.activate
def test_dispatch_task_drains_and_hands_over_when_its_budget_is_spent(kicks, monkeypatch, settings):
    OutboxMessageFactory.create_batch(3, transaction__client=ClientFactory())
    responses.post(INTAKE_URL, status=202, json={})
    monkeypatch.setattr(tasks, "DRAIN_BUDGET_SECONDS", 0)
    settings.DISPATCH_BATCH_SIZE = 2
    assert tasks.dispatch_outbox.apply().get() == 2  # a full batch: a backlog remains
    assert kicks == [((), {})]  # handed over: more may be due


@responses.activate
def test_dispatch_task_with_nothing_due_sends_nothing(kicks):
    assert tasks.dispatch_outbox.apply().get() == 0
    assert not responses.calls
    assert kicks == []


def test_the_beat_schedule_runs_the_sweep_the_purge_and_the_reconciliation(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "producer.transactions.tasks.sweep_outbox",
        "producer.transactions.tasks.purge_idempotency_keys",
        "producer.reconciliation.tasks.reconcile",
    }


def test_tasks_are_routed_to_the_dispatch_queue():
    from producer.celery import app

    for name in ("dispatch_outbox", "sweep_outbox", "purge_idempotency_keys"):
        route = app.amqp.router.route({}, f"producer.transactions.tasks.{name}")
        assert route["queue"].name == "producer.dispatch"
    route = app.amqp.router.route({}, "producer.reconciliation.tasks.reconcile")
    assert route["queue"].name == "producer.dispatch"


def test_purge_forgets_expired_keys_and_old_receipts():
    client = ClientFactory()
    old = timezone.now() - timedelta(days=30)
    IdempotencyKey.objects.create(client=client, key="old", fingerprint="x", created_at=old)
    IdempotencyKey.objects.create(client=client, key="new", fingerprint="x")
    WebhookReceipt.objects.create(msg_id="msg_old", received_at=old)
    WebhookReceipt.objects.create(msg_id="msg_new")
    assert tasks.purge_idempotency_keys() == {"idempotency_keys": 1, "webhook_receipts": 1}
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert list(WebhookReceipt.objects.values_list("msg_id", flat=True)) == ["msg_new"]
