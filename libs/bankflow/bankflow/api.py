"""The one DRF exception handler and the small API helpers both services use.

Error shape:
- validation errors: field -> list of messages (``{"amount": ["…"]}``), as DRF gives them;
- every other error: ``{"detail": "…", "code": "…"}`` with the HTTP status.

The core raises plain application errors (``bankflow.errors``); this is the one place that
says which HTTP status each kind is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from bankflow import errors

# Most specific first: an InvalidTransition is a Conflict.
STATUS_BY_ERROR: tuple[tuple[type[errors.ApplicationError], int], ...] = (
    (errors.NotFound, status.HTTP_404_NOT_FOUND),
    (errors.Conflict, status.HTTP_409_CONFLICT),
    (errors.ApplicationError, status.HTTP_400_BAD_REQUEST),
)


def application_error_response(exc: errors.ApplicationError) -> Response:
    """The contract's shape for an application error: field errors, or detail and code."""
    code = next(code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind))
    if isinstance(exc, errors.Invalid):
        return Response(exc.errors, status=code)
    return Response({"detail": exc.message, "code": exc.code}, status=code)


class Unavailable(exceptions.APIException):
    """The database went away under a request (a restart, a failover): 503, try again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service's database does not answer; try again shortly."
    default_code = "unavailable"


RETRY_UNAVAILABLE_SECONDS = 1


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        # Nothing was written (the request's transaction rolls back): the client may repeat
        # it, with its Idempotency-Key. Django drops the broken connection after the request.
        structlog.get_logger("bankflow.api").warning("database_unavailable", error=str(exc))
        response = drf_exception_handler(Unavailable(), context)
        if response is not None:
            response.data = {"detail": Unavailable.default_detail, "code": Unavailable.default_code}
            response["Retry-After"] = str(RETRY_UNAVAILABLE_SECONDS)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: let Django answer 500 and log it
    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail
        if not isinstance(data, dict):
            data = {"non_field_errors": data if isinstance(data, list) else [data]}
        response.data = data
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = {
            "detail": str(detail) if not isinstance(detail, dict | list) else detail,
            "code": exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code,
        }
    return response


class BodySizeLimitMiddleware:
    """413 with the error shape for a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, told by
    its Content-Length before anything reads it. (Django's own check fires only when
    ``request.body`` is read, and answers 400; DRF's parsers read the stream and never ask.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return JsonResponse(
                {"detail": f"The body is larger than {limit} bytes.", "code": "too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return self.get_response(request)


class StrictFieldsMixin:
    """Reject unknown fields instead of silently dropping them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            fields = self.fields  # type: ignore[attr-defined]
            writable = {name for name, field in fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


def wire_schema(message_type: Any) -> dict[str, Any]:
    """The OpenAPI request/response body of a ``bankflow.wire`` type (for ``extend_schema``),
    generated from the type itself so that the documentation cannot drift from the code.

    msgspec writes JSON Schema: references are inlined and ``anyOf [X, null]`` becomes
    OpenAPI 3.0's ``nullable``.
    """
    (schema,), components = msgspec.json.schema_components([message_type], ref_template="{name}")

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return inline(components[node["$ref"]])
            options = node.get("anyOf")
            if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
                (other,) = (o for o in options if o != {"type": "null"})
                rest = {k: v for k, v in node.items() if k != "anyOf"}
                return {**inline(other), **rest, "nullable": True}
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return {"application/json": inline(schema)}
