import pytest

pytestmark = pytest.mark.django_db


def test_healthz_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"


def test_readyz_reports_a_broker_outage_but_stays_ready(client, settings):
    """The outbox holds new transactions while the broker is away (CONTRACT.md)."""
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failed"] == ["broker"]
    assert body["required"] == ["database"]
    assert body["checks"]["broker"].startswith("error: ")
    assert "guest" not in response.content.decode()


def test_readyz_fails_without_the_database(client, monkeypatch):
    def unreachable() -> None:
        raise ConnectionRefusedError("postgres://producer:secret@db/producer")

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
