"""Health, readiness, metrics and API docs on both services, and their auth walls."""

import pytest

SERVICES = ["producer", "consumer"]


@pytest.mark.parametrize("service", SERVICES)
def test_liveness_and_readiness(deployment, service):
    api = deployment.anonymous(service)
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["broker"] == "ok"


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_and_openapi(deployment, service):
    api = deployment.anonymous(service)
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert "django_http_requests_total_by_method_total" in metrics.text
    schema = api.get("/api/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert api.get("/api/docs/").status_code == 200


def test_producer_refuses_missing_and_wrong_keys(deployment):
    assert deployment.anonymous().get("/api/v1/transactions/").status_code == 401
    wrong = deployment.anonymous()
    wrong.session.headers["Authorization"] = "Bearer not-a-key"
    assert wrong.get("/api/v1/transactions/").status_code == 401


def test_consumer_refuses_without_service_token(deployment):
    api = deployment.anonymous("consumer")
    assert api.post("/api/v1/transactions/", json=[]).status_code == 401


def test_webhook_receiver_refuses_unsigned_messages(deployment):
    response = deployment.anonymous().post(
        "/api/v1/webhooks/consumer/", json={"type": "transaction.results", "results": []}
    )
    assert response.status_code == 401


def test_correlation_id_is_echoed(deployment):
    response = deployment.producer.get(
        "/api/v1/transactions/", headers={"X-Correlation-ID": "e2e-trace-1"}
    )
    assert response.headers["X-Correlation-ID"] == "e2e-trace-1"
