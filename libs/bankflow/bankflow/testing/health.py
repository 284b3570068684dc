"""The health, metrics and docs endpoints every service serves (docs/api.md's list).

A service's ``tests/test_health.py`` imports these and defines the ``required_checks``
fixture: the dependencies without which its ``/readyz`` answers 503 (the others are
reported but do not fail it).
"""

from __future__ import annotations

import re

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
    assert client.get("/api/redoc/").status_code == 200


# src="…" / href="…" in the docs pages, and any absolute URL at all (an inline script's too).
_ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
_ABSOLUTE = re.compile(r"(?:https?:)?//[\w.-]+")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_work_offline(client, page):
    """Swagger UI and Redoc load only the service's own static files (drf-spectacular-sidecar),
    so the docs work in an air-gapped cluster, and each of those files is served."""
    html = client.get(page).content.decode()
    assets = _ASSET.findall(html)
    assert len(assets) >= (4 if page == "/api/docs/" else 1), html
    assert not _ABSOLUTE.findall(html.replace("</", "<")), "the page names another host"
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, asset


def test_every_response_carries_a_correlation_id(client):
    response = client.get("/healthz", HTTP_X_CORRELATION_ID="trace-1")
    assert response["X-Correlation-ID"] == "trace-1"
