"""The health, metrics and docs endpoints every service serves (CONTRACT.md's list).

A service's ``tests/test_health.py`` imports these and defines the ``required_checks``
fixture: the dependencies without which its ``/readyz`` answers 503 (the others are
reported but do not fail it).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client, required_checks):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["required"] == sorted(required_checks)


def test_a_broker_outage_fails_readiness_only_where_the_broker_is_required(
    client, settings, required_checks
):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/readyz")
    body = response.json()
    if "broker" in required_checks:
        assert (response.status_code, body["status"]) == (503, "unavailable")
    else:  # the producer's outbox holds new transactions while the broker is away
        assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"].startswith("error: ")
    assert "guest" not in response.content.decode()


def test_readyz_fails_without_the_database_and_names_no_secret(client, monkeypatch):
    def unreachable() -> None:
        raise ConnectionRefusedError("postgres://service:secret@db/service")

    monkeypatch.setattr("bankflow.health.check_database", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == "error: ConnectionRefusedError"
    assert "secret" not in response.content.decode()


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests" in response.content


def test_openapi_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_every_response_carries_a_correlation_id(client):
    response = client.get("/healthz", HTTP_X_CORRELATION_ID="trace-1")
    assert response["X-Correlation-ID"] == "trace-1"
