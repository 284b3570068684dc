"""The OpenAPI schema's error answers, checked on every operation of a service
(``bankflow.schema``). A service's ``tests/test_schema.py`` imports these."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def openapi(client) -> dict[str, Any]:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def operations(openapi: dict[str, Any]):
    for path, item in openapi["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def body_schema(response: dict[str, Any]) -> dict[str, Any]:
    return response["content"]["application/json"]["schema"]


def test_the_two_error_shapes_are_components(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["Error"]["required"] == ["detail", "code"]
    assert schemas["ValidationError"]["type"] == "object"


def test_every_error_answer_has_the_one_error_body(openapi):
    seen = set()
    for path, method, op in operations(openapi):
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                schema = body_schema(response)
                refs = [o["$ref"] for o in schema.get("anyOf", [schema])]
                assert "#/components/schemas/Error" in refs, (path, method, code)
                assert response["description"], (path, method, code)
                seen.add(code)
    assert {"400", "401", "404", "413"} <= seen


def test_each_operation_documents_the_errors_it_can_give(openapi):
    for path, method, op in operations(openapi):
        codes = set(op["responses"])
        if "requestBody" in op:
            assert {"400", "413"} <= codes, (path, method)
        if "{" in path:
            assert "404" in codes, (path, method)
        if op.get("security") and {} not in op["security"]:
            assert "401" in codes, (path, method)
        if "400" in codes:
            refs = [o["$ref"] for o in body_schema(op["responses"]["400"]).get("anyOf", [])]
            assert "#/components/schemas/ValidationError" in refs, (path, method)


def test_a_body_over_the_maximum_answers_413_with_the_error_shape(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/transactions/", b"[" + b" " * 1000 + b"]", "application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert set(response.json()) == {"detail", "code"}


def test_a_path_no_route_matches_answers_404_in_the_error_shape_under_api(client):
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    elsewhere = client.get("/no-such-page/")
    assert elsewhere.status_code == 404
    assert elsewhere["Content-Type"].startswith("text/html")
