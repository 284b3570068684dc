from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bankflow.redis import get_redis
from bankflow.testing.audit import event_statements  # noqa: F401 - a fixture the event tests use
from producer.clients.services import client_create_or_add_key
from producer.transactions.outbox import KICK_KEY

CONSUMER_URL = "http://consumer.test"
INTAKE_URL = f"{CONSUMER_URL}/api/v1/transactions/"


@pytest.fixture(autouse=True)
def _forget_api_keys():
    """Each test starts with no API key remembered (the cache is per process)."""
    from producer.clients import services

    services._valid_keys.clear()


@pytest.fixture(autouse=True)
def _no_real_consumer(settings):
    # Unit tests never reach a real consumer (one may be running on this machine).
    settings.CONSUMER_URL = CONSUMER_URL


@pytest.fixture(autouse=True)
def kicks(request, monkeypatch):
    """Dispatch tasks enqueued, recorded instead of published (real with a real worker)."""
    get_redis().delete(KICK_KEY)
    monkeypatch.setattr("producer.transactions.outbox._covered_until", 0.0)
    if "slow" in request.keywords:
        yield None
        return
    calls: list[tuple] = []
    from producer.transactions.tasks import dispatch_outbox

    monkeypatch.setattr(dispatch_outbox, "delay", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.setattr(dispatch_outbox, "apply_async", lambda *a, **kw: calls.append((a, kw)))
    yield calls


def _api_for(name: str) -> APIClient:
    tenant, _created, key = client_create_or_add_key(name=name)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    api.tenant = tenant  # type: ignore[attr-defined]
    api.key = key  # type: ignore[attr-defined]
    return api


@pytest.fixture
def api(db) -> APIClient:
    return _api_for("acme")


@pytest.fixture
def other_api(db) -> APIClient:
    return _api_for("globex")
