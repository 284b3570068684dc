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

from bankflow import schema
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

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = super().get_paginated_response_schema(schema)
        answer["required"] = ["next", "previous", "results"]  # always present, null at an end
        for name in ("next", "previous"):
            answer["properties"][name].pop("example", None)
        return answer

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
ACCOUNT_RULES = (
    "Which accounts each type needs: `transfer` and `payment` a `source_account` and a "
    "`destination_account`, which differ; `deposit` a `destination_account` only; "
    "`withdrawal` a `source_account` only. An account the type does not take must be "
    "absent or null (else 400 naming the field). Accounts are IBANs with valid check "
    "digits, accepted with spaces or in lower case and stored compact. `amount` is a "
    "decimal string (a JSON number is accepted), greater than zero, with at most the "
    "currency's minor units "
    "(EUR 2, JPY 0, BHD 3) and at most 1,000,000,000."
)
TRANSFER = {
    "reference": "INV-1001",
    "type": "transfer",
    "amount": "125.50",
    "currency": "EUR",
    "source_account": "DE89370400440532013000",
    "destination_account": "FR1420041010050500013M02606",
    "description": "rent",
}
EXAMPLES = [
    OpenApiExample("transfer", request_only=True, value=TRANSFER),
    OpenApiExample(
        "deposit (destination only)",
        request_only=True,
        value={
            "reference": "DEP-7",
            "type": "deposit",
            "amount": "5000",
            "currency": "JPY",
            "destination_account": "GB82 WEST 1234 5698 7654 32",
        },
    ),
    OpenApiExample(
        "withdrawal (source only)",
        request_only=True,
        value={
            "reference": "ATM-3",
            "type": "withdrawal",
            "amount": "20.000",
            "currency": "BHD",
            "source_account": "de89370400440532013000",
        },
    ),
    OpenApiExample(
        "created",
        response_only=True,
        status_codes=["201"],
        value={
            "id": "3f1c2a9e-5d7b-4c1e-9a4f-0b6d8e2f1a3c",
            **TRANSFER,
            "status": "pending",
            "result": None,
            "failure_reason": None,
            "created_at": "2026-11-21T10:00:00.000000Z",
            "updated_at": "2026-11-21T10:00:00.000000Z",
        },
    ),
]
BULK_BAD_ITEMS = OpenApiResponse(
    description="Bad items, each named by its index; nothing is stored.",
    response=schema.BAD_REQUEST_SCHEMA,
    examples=[
        OpenApiExample(
            "two bad items",
            value={
                "0": {"amount": ["Must be greater than zero."]},
                "3": {"source_account": ["Must be absent or null for a deposit."]},
            },
        ),
        OpenApiExample("empty list", value={"non_field_errors": ["This list may not be empty."]}),
    ],
)


@extend_schema_view(
    list=extend_schema(
        summary="List transactions (cursor-paginated, newest first)",
        description="Newest first, cursor-paginated: follow `next` (and `previous`) as "
        "given; `limit` is 1-500 (default 50). Filters combine with AND; `account` matches "
        "either side.",
        parameters=[
            TransactionFilterSerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`/`previous`."),
        ],
    ),
    retrieve=extend_schema(summary="One transaction (another client's id answers 404)"),
    partial_update=extend_schema(
        summary="Change reference/description while pending",
        description="Only `reference` and `description`, only while the transaction is "
        "`pending`; otherwise 409.",
        request=TransactionUpdateSerializer,
        responses={200: TransactionSerializer, 409: CONFLICT},
        examples=[
            OpenApiExample("new reference", request_only=True, value={"reference": "INV-1002"})
        ],
    ),
    destroy=extend_schema(
        summary="Cancel a pending transaction (nothing is ever deleted)",
        description="204 once `cancelled`; a transaction that is not `pending` answers 409.",
        responses={204: None, 409: CONFLICT},
    ),
)
class TransactionViewSet(viewsets.ViewSet):
    parser_classes = [DecimalJSONParser]
    lookup_field = "id"
    lookup_value_regex = UUID_PATTERN
    serializer_class = TransactionSerializer
    # For the schema: ``list`` paginates with it (the real ``{"next", "previous", "results"}``).
    pagination_class = TransactionCursorPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def rate_limit_items(self, request: Request) -> int:
        """The items a request charges to the client's bulk budget (ClientRateThrottle)."""
        if self.action != "bulk":
            return 0
        return len(request.data) if isinstance(request.data, list) else 0

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
        description=ACCOUNT_RULES,
        request=TransactionInputSerializer,
        responses={
            201: TransactionSerializer,
            409: OpenApiResponse(description="The Idempotency-Key was used with another body."),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=EXAMPLES,
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
            "All valid: 201 with the list, in the order sent. Otherwise 400 naming each bad "
            'item by index, e.g. `{"3": {"amount": ["Must be greater than zero."]}}`, and '
            "nothing is stored. Each item follows the rules of a single create. "
            + ACCOUNT_RULES
            + " Rate limits: a bulk request costs one request and its item count in bulk items."
        ),
        request=TransactionInputSerializer(many=True),
        responses={
            201: TransactionSerializer(many=True),
            400: BULK_BAD_ITEMS,
            409: OpenApiResponse(description="The Idempotency-Key was used with another body."),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[OpenApiExample("two items", request_only=True, value=[TRANSFER, TRANSFER])],
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
