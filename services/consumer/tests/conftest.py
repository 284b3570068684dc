from __future__ import annotations

import uuid

import pytest
import responses
from rest_framework.test import APIClient

from bankflow.redis import get_redis
from bankflow.testing.audit import event_statements  # noqa: F401 - a fixture the event tests use


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Unit tests publish nothing: tasks run in-process when their commit callbacks run."""
    from consumer.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _forget_account_ids():
    """Tests roll their accounts back: no process memory of them may outlive a test."""
    from consumer.ledger import services

    services._account_ids.clear()
    yield
    services._account_ids.clear()


@pytest.fixture(autouse=True)
def redis_prefix(settings):
    """A private key prefix per test (the real Redis db is shared), removed afterwards."""
    prefix = f"bankflow_cons_test:{uuid.uuid4().hex}:"
    settings.REDIS_KEY_PREFIX = prefix
    yield prefix
    redis = get_redis()
    keys = list(redis.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis.delete(*keys)


@pytest.fixture
def api(settings):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.CONSUMER_API_TOKEN}")
    return client


@pytest.fixture
def producer(settings):
    """The producer's webhook receiver, faked: 200 unless a test says otherwise."""
    settings.PRODUCER_WEBHOOK_URL = "http://producer.test/api/v1/webhooks/consumer/"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, settings.PRODUCER_WEBHOOK_URL, json={"applied": 1, "ignored": 0})
        yield mock
