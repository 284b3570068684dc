from io import StringIO

import pytest
from django.core.management import call_command


def test_the_openapi_schema_validates_without_warnings():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in [
        "/api/v1/transactions/",
        "/api/v1/transactions/bulk/",
        "/api/v1/transactions/{id}/",
        "/api/v1/transactions/{id}/retry/",
        "/api/v1/webhooks/consumer/",
    ]:
        assert f"{path}:" in schema, path


@pytest.mark.django_db
def test_the_schema_documents_the_idempotency_key(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parameters = schema["paths"]["/api/v1/transactions/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" for p in parameters)
