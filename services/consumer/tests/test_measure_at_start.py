"""Gauges set by beat tasks are exported from a worker's start (bankflow.celery)."""

from __future__ import annotations

import pytest
from celery.signals import worker_ready

from bankflow.celery import measure_at_start
from consumer.metrics import WEBHOOKS_DEAD
from consumer.webhooks.services import webhooks_dead_measure
from tests.factories import WebhookMessageFactory


@pytest.fixture
def measured():
    receivers = []

    def register(*measures):
        receivers.append(measure_at_start(*measures))

    yield register
    for receiver in receivers:
        worker_ready.disconnect(receiver)


def test_each_measure_runs_once_when_the_worker_is_ready_even_after_one_fails(measured):
    calls = []

    def broken():
        raise RuntimeError("the database does not answer yet")

    def fine():
        calls.append("fine")

    measured(broken, fine)
    worker_ready.send(sender=None)
    assert calls == ["fine"]


@pytest.mark.django_db(transaction=True)
def test_the_dead_webhooks_gauge_is_set_at_start(measured):
    WebhookMessageFactory(state="dead")
    WEBHOOKS_DEAD.set(0)
    measured(webhooks_dead_measure)
    worker_ready.send(sender=None)
    assert WEBHOOKS_DEAD._value.get() == 1
