"""The OpenAPI schema's error answers, documented once for every operation of both services.

``bankflow.api.exception_handler`` gives every error one of two shapes; they are the
components ``Error`` (``{"detail", "code"}``) and ``ValidationError`` (field -> messages,
nested for nested fields and bulk items). ``AutoSchema`` adds to each operation the error
answers it can give, from what the view is: 400 where it reads a body or query parameters,
401 where it needs credentials, 404 where the path names a resource, 413 where it reads a
body, 429 where a throttle applies (with ``Retry-After``). An answer a view declares itself
(a 409 with its own description) keeps its description and gets the error body.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework.permissions import AllowAny

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR_REF = {"$ref": "#/components/schemas/ValidationError"}

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "description": "Every error except bad input: a message and a stable code.",
            "properties": {
                "detail": {"type": "string", "description": "For people; may change."},
                "code": {
                    "type": "string",
                    "description": "For programs: `not_authenticated`, `authentication_failed`, "
                    "`not_found`, `conflict`, `parse_error`, `too_large`, `throttled`, …",
                },
            },
            "required": ["detail", "code"],
        },
        "ValidationError": {
            "type": "object",
            "description": "Bad input, field by field: each field (or `non_field_errors`) "
            "names its messages; a nested field or a bulk item (keyed by its index) nests "
            "the same shape.",
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {"type": "string"}},
                    VALIDATION_ERROR_REF,
                ]
            },
            "example": {"amount": ["Must be greater than zero."]},
        },
    }
}

BAD_REQUEST_SCHEMA = {"anyOf": [VALIDATION_ERROR_REF, ERROR_REF]}


def _error(code: str, detail: str) -> dict[str, str]:
    return {"detail": detail, "code": code}


# status -> (description, body schema, examples)
ERRORS: dict[int, tuple[str, dict[str, Any], list[OpenApiExample]]] = {
    400: (
        "Bad input: field-level messages (`ValidationError`), or a body that is not JSON "
        "(`Error`, code `parse_error`).",
        BAD_REQUEST_SCHEMA,
        [
            OpenApiExample("a field", value={"amount": ["Must be greater than zero."]}),
            OpenApiExample("unknown field", value={"colour": ["Unknown field."]}),
            OpenApiExample("not JSON", value=_error("parse_error", "JSON parse error - …")),
        ],
    ),
    401: (
        "Missing or wrong credentials (`WWW-Authenticate: Bearer`).",
        ERROR_REF,
        [
            OpenApiExample(
                "missing",
                value=_error("not_authenticated", "Authentication credentials were not provided."),
            ),
            OpenApiExample("wrong", value=_error("authentication_failed", "Invalid token.")),
        ],
    ),
    404: (
        "No such resource, or it belongs to another client.",
        ERROR_REF,
        [OpenApiExample("not found", value=_error("not_found", "No such transaction."))],
    ),
    409: (
        "The resource's current state does not allow this.",
        ERROR_REF,
        [
            OpenApiExample(
                "conflict", value=_error("conflict", "Cannot go from processed to cancelled.")
            )
        ],
    ),
    413: (
        "The body is larger than the maximum (5 MiB).",
        ERROR_REF,
        [OpenApiExample("too large", value=_error("too_large", "The body is too large."))],
    ),
    429: (
        "Over the client's rate limit: retry after `Retry-After` seconds.",
        ERROR_REF,
        [
            OpenApiExample(
                "throttled",
                value=_error("throttled", "Request was throttled. Expected available in 1 second."),
            )
        ],
    ),
}
QUERY_EXAMPLE = OpenApiExample(
    "a query parameter", value={"limit": ["Ensure this value is less than or equal to 500."]}
)
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds until the same request would pass.",
    }
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, with each operation's error answers (module docstring)."""

    def error_codes(self) -> set[int]:
        codes: set[int] = set()
        has_body = self.method in ("POST", "PUT", "PATCH")
        query = any(p.get("in") == "query" for p in self._get_parameters())
        if has_body or query:
            codes.add(400)
        if has_body:
            codes.add(413)
        if "{" in self.path:
            codes.add(404)
        needs_credentials = self.view.get_authenticators() and not all(
            isinstance(p, AllowAny) for p in self.view.get_permissions()
        )
        if needs_credentials:
            codes.add(401)
        if self.view.get_throttles():
            codes.add(429)
        return codes

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        for name, schema in COMPONENTS["schemas"].items():
            self.registry.register_on_missing(
                ResolvedComponent(
                    name=name,
                    type=ResolvedComponent.SCHEMA,
                    schema=schema,
                    object=f"bankflow.{name}",
                )
            )
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        declared = {int(code) for code in responses if code.isdigit() and int(code) in ERRORS}
        for code in sorted(self.error_codes() | declared):
            description, schema, examples = ERRORS[code]
            if code == 400 and self.method not in ("POST", "PUT", "PATCH"):
                examples = [QUERY_EXAMPLE]
            existing = responses.get(str(code), {})
            if existing.get("content"):
                continue  # the view documents its own body
            built = self._get_response_for_code(
                OpenApiResponse(
                    response=schema,
                    description=existing.get("description") or description,
                    examples=examples,
                ),
                str(code),
            )
            if code == 429:
                built["headers"] = {**built.get("headers", {}), **RETRY_AFTER_HEADER}
            responses[str(code)] = built
        return responses
