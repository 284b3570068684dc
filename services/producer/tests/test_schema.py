from io import StringIO

import pytest
from django.core.management import call_command

from bankflow.testing.schema import *  # noqa: F403 - the error answers every service documents
from bankflow.testing.schema import operations


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


@pytest.mark.django_db
def test_the_list_is_documented_as_the_page_it_returns(openapi):
    op = openapi["paths"]["/api/v1/transactions/"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = openapi["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert page["required"] == ["next", "previous", "results"]
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/Transaction"}
    names = {p["name"] for p in op["parameters"]}
    assert {"cursor", "limit", "status", "type", "currency", "account"} <= names


@pytest.mark.django_db
def test_every_client_operation_documents_429_with_retry_after_and_the_webhook_does_not(openapi):
    for path, method, op in operations(openapi):
        if path.startswith("/api/v1/webhooks/"):
            assert "429" not in op["responses"]
        else:
            assert "Retry-After" in op["responses"]["429"]["headers"], (path, method)


@pytest.mark.django_db
def test_the_schema_names_the_cross_field_rules_and_gives_examples(openapi):
    create = openapi["paths"]["/api/v1/transactions/"]["post"]
    assert "`deposit` a `destination_account` only" in create["description"]
    examples = create["requestBody"]["content"]["application/json"]["examples"]
    assert len(examples) >= 3
    assert create["responses"]["201"]["content"]["application/json"]["examples"]
    bulk = openapi["paths"]["/api/v1/transactions/bulk/"]["post"]
    assert "by index" in bulk["description"]
    assert bulk["responses"]["400"]["content"]["application/json"]["examples"]
    fields = openapi["components"]["schemas"]["TransactionInputRequest"]["properties"]
    assert "deposit" in fields["source_account"]["description"]
