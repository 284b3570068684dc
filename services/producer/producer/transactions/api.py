"""The transactions API: one ViewSet, thin methods, each calling one service or selector."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant

from producer.clients.authentication import request_client
from producer.transactions import idempotency, selectors, services
from producer.transactions.serializers import (
    LIST_DEFAULT_LIMIT,
    LIST_MAX_LIMIT,
    EventListQuerySerializer,
    TransactionBulkInputSerializer,
    TransactionEventSerializer,
    TransactionFilterSerializer,
    TransactionInputSerializer,
    TransactionSerializer,
    TransactionUpdateSerializer,
)

# One input serializer for every create: its fields are bound once, not deep-copied per
# request (ListSerializer reuses its child the same way, item after item).
CREATE_INPUT = TransactionInputSerializer()

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class DecimalJSONParser(JSONParser):
    """JSON numbers become Decimal, never float: 0.1 stays exactly 0.1."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json.loads(
                stream.read().decode(encoding),
                parse_float=Decimal,
                parse_constant=strict_constant,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None


class TransactionCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = LIST_DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = LIST_MAX_LIMIT

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from None


def cursor_page(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a cursor page (``{"next", "previous", "results"}``) of ``item``s."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


class EventCursorPagination(TransactionCursorPagination):
    """A transaction's events, oldest first (the id breaks ties within one timestamp)."""

    ordering = ("at", "id")


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Optional, at most 255 characters, scoped to your API key's client and kept at least "
        "24 hours: the same key with the same body replays the first answer (header "
        "`Idempotent-Replayed: true`); with a different body, 409."
    ),
)
CONFLICT = OpenApiResponse(description="The transaction's status does not allow this (409).")
EXAMPLE = OpenApiExample(
    "transfer",
    request_only=True,
    value={
        "reference": "INV-1001",
        "type": "transfer",
        "amount": "125.50",
        "currency": "EUR",
        "source_account": "DE89370400440532013000",
        "destination_account": "FR1420041010050500013M02606",
        "description": "rent",
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="List transactions (cursor-paginated, newest first)",
        parameters=[
            TransactionFilterSerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`/`previous`."),
        ],
    ),
    retrieve=extend_schema(summary="One transaction"),
    partial_update=extend_schema(
        summary="Change reference/description while pending",
        request=TransactionUpdateSerializer,
        responses={200: TransactionSerializer, 409: CONFLICT},
    ),
    destroy=extend_schema(
        summary="Cancel a pending transaction (nothing is ever deleted)",
        responses={204: None, 409: CONFLICT},
    ),
)
class TransactionViewSet(viewsets.ViewSet):
    parser_classes = [DecimalJSONParser]
    lookup_field = "id"
    lookup_value_regex = UUID_PATTERN
    serializer_class = TransactionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.UnsupportedMediaType):
            # The contract: a body that is not JSON is a 400.
            exc = exceptions.ParseError("The body must be JSON (Content-Type: application/json).")
        return super().handle_exception(exc)

    def _idempotent(
        self, request: Request, action: Callable[[], tuple[int, Any]]
    ) -> Response | HttpResponse:
        """Run ``action`` (its answer rendered as the API renders any answer), once per
        Idempotency-Key when the request has one."""
        key = request.headers.get(idempotency.HEADER)
        if key is None:
            status_code, body = action()
            return Response(body, status=status_code)

        def rendered() -> tuple[int, str]:
            status_code, body = action()
            return status_code, JSONRenderer().render(body).decode()

        if not key.strip() or len(key) > idempotency.MAX_LENGTH:
            raise exceptions.ValidationError({idempotency.HEADER: ["Must be 1 to 255 characters."]})
        answer = idempotency.idempotent(
            client=request_client(request),
            key=key,
            fingerprint=idempotency.fingerprint(
                method=request.method or "POST", path=request.path, data=request.data
            ),
            action=rendered,
        )
        response = HttpResponse(answer.body, status=answer.status, content_type="application/json")
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(
        summary="Create a transaction",
        request=TransactionInputSerializer,
        responses={201: TransactionSerializer, 409: OpenApiResponse(description="Key reused.")},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[EXAMPLE],
    )
    def create(self, request: Request) -> Response | HttpResponse:
        data = CREATE_INPUT.run_validation(request.data)

        def create() -> tuple[int, Any]:
            tx = services.transaction_create(
                client=request_client(request),
                data=data,
                correlation_id=request.correlation_id,  # type: ignore[attr-defined]
            )
            return status.HTTP_201_CREATED, TransactionSerializer(tx).data

        return self._idempotent(request, create)

    @extend_schema(
        summary="Create 1-1000 transactions, all or nothing",
        description=(
            "All valid: 201 with the list. Otherwise 400 naming each bad item by index, "
            'e.g. `{"3": {"amount": ["Must be greater than zero."]}}`, and nothing is stored.'
        ),
        request=TransactionInputSerializer(many=True),
        responses={201: TransactionSerializer(many=True)},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response | HttpResponse:
        serializer = TransactionBulkInputSerializer(data=request.data)
        if not serializer.is_valid():
            raise exceptions.ValidationError(serializer.indexed_errors())

        def create() -> tuple[int, Any]:
            transactions = services.transaction_bulk_create(
                client=request_client(request),
                items=serializer.validated_data,
                correlation_id=request.correlation_id,  # type: ignore[attr-defined]
            )
            return status.HTTP_201_CREATED, TransactionSerializer(transactions, many=True).data

        return self._idempotent(request, create)

    def list(self, request: Request) -> Response:
        filters = TransactionFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        params.pop("limit", None)
        queryset = selectors.transaction_list(client=request_client(request), **params)
        paginator = TransactionCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(TransactionSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        tx = selectors.transaction_get(client=request_client(request), transaction_id=uuid.UUID(id))
        return Response(TransactionSerializer(tx).data)

    def partial_update(self, request: Request, id: str) -> Response:
        serializer = TransactionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tx = services.transaction_update(
            client=request_client(request),
            transaction_id=uuid.UUID(id),
            **serializer.validated_data,
        )
        return Response(TransactionSerializer(tx).data)

    def destroy(self, request: Request, id: str) -> Response:
        services.transaction_cancel(client=request_client(request), transaction_id=uuid.UUID(id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Dispatch a failed transaction again",
        request=None,
        responses={202: TransactionSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, id: str) -> Response:
        tx = services.transaction_retry(
            client=request_client(request), transaction_id=uuid.UUID(id)
        )
        return Response(TransactionSerializer(tx).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The transaction's audit trail (cursor-paginated, oldest first)",
        description=(
            "One event per change of the transaction (`created`, `updated`, `dispatched`, "
            "`dispatch_failed`, `result_applied`, `failed`, `cancelled`, `retried`, "
            "`review_resolved`), appended in the same database transaction as the change "
            "and never changed or removed. A duplicate webhook or a result ignored for a "
            "final transaction writes none. Another client's id answers 404."
        ),
        parameters=[
            EventListQuerySerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`/`previous`."),
        ],
        responses={200: cursor_page("TransactionEventPage", TransactionEventSerializer)},
    )
    @action(detail=True, methods=["get"])
    def events(self, request: Request, id: str) -> Response:
        EventListQuerySerializer(data=request.query_params.dict()).is_valid(raise_exception=True)
        queryset = selectors.transaction_events(
            client=request_client(request), transaction_id=uuid.UUID(id)
        )
        paginator = EventCursorPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(TransactionEventSerializer(page, many=True).data)
