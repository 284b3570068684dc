"""The consumer API: thin views over one service or selector each."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankflow import wire
from bankflow.api import wire_schema
from bankflow.errors import Invalid, NotFound
from bankflow.money import normalize_iban
from consumer.api.serializers import (
    AccountBalancesSerializer,
    IntakeAnswerSerializer,
    ReconciliationDaySerializer,
    ReconciliationQuerySerializer,
    ReviewInputSerializer,
    TransactionDetailSerializer,
    TransactionFilterSerializer,
    TransactionListSerializer,
)
from consumer.intake.selectors import reconciliation_totals
from consumer.ledger.selectors import account_balances
from consumer.processing.selectors import transaction_detail, transaction_details, transaction_list
from consumer.processing.services import transactions_receive
from consumer.review.services import review_decide

TX_ID = "3f1c2a9e-5d7b-4c1e-9a4f-0b6d8e2f1a3c"
INTAKE_EXAMPLES = [
    OpenApiExample(
        "one transfer",
        request_only=True,
        value=[
            {
                "id": TX_ID,
                "type": "transfer",
                "amount": "125.50",
                "currency": "EUR",
                "source_account": "DE89370400440532013000",
                "destination_account": "FR1420041010050500013M02606",
                "created_at": "2026-11-21T10:00:00.000000Z",
                "correlation_id": "b5e0c6d2a1f34e4c9d7a8b6c5d4e3f21",
            }
        ],
    ),
    OpenApiExample("accepted", response_only=True, value={"accepted": [TX_ID], "duplicates": []}),
]
DETAIL_EXAMPLE = OpenApiExample(
    "processed",
    response_only=True,
    value={
        "id": TX_ID,
        "status": "processed",
        "result": {
            "decision": "approved",
            "risk_score": 12,
            "reasons": [],
            "fee": "1.25",
            "processed_at": "2026-11-21T10:00:00.400000Z",
        },
        "failure_reason": None,
        "webhook": {"state": "delivered", "attempts": 1, "last_status_code": 200},
    },
)


class TransactionIntakeView(APIView):
    """POST: the producer's intake; GET: the list, for operators and automation."""

    # The wire body is read as bytes and decoded once by bankflow.wire (no DRF parser).
    parser_classes: list[Any] = []

    @extend_schema(
        request=wire_schema(list[wire.IntakeItem]),
        responses={202: IntakeAnswerSerializer},
        examples=INTAKE_EXAMPLES,
        parameters=[
            OpenApiParameter(
                wire.VERSION_HEADER,
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                description="The intake body's wire version (absent: 1).",
            )
        ],
        description="One transaction or a list of 1-1000, with the producer's ids. An id "
        "already received answers 202 again (listed in duplicates) and is not processed "
        "twice; if its result is final it is sent again in a new webhook message. Unknown "
        "fields are ignored; an unknown wire version is a 400 with code unsupported_version.",
    )
    def post(self, request: Request) -> Response:
        wire.check_version(request.headers.get(wire.VERSION_HEADER))
        outcome = transactions_receive(items=wire.decode_intake(request.body))
        body = {"accepted": outcome.accepted, "duplicates": outcome.duplicates}
        return Response(IntakeAnswerSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="v1_transactions_list",
        parameters=[TransactionFilterSerializer],
        responses={200: TransactionListSerializer},
        description="Every transaction received, oldest first, cursor-paginated like the "
        "producer's list (limit at most 500); filters status, decision (the current one) "
        "and account (either side, any IBAN spelling). Items as GET /transactions/{id}/.",
    )
    def get(self, request: Request) -> Response:
        filters = TransactionFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = {k: v for k, v in filters.validated_data.items() if k not in {"limit", "cursor"}}
        paginator = TransactionCursorPagination()
        page = paginator.paginate_queryset(transaction_list(**params), request, view=self)
        body = transaction_details(transactions=page or [])
        return paginator.get_paginated_response(TransactionDetailSerializer(body, many=True).data)


class TransactionCursorPagination(CursorPagination):
    ordering = ("received_at", "id")
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": ["Invalid cursor."]}) from None


class TransactionReviewView(APIView):
    @extend_schema(
        request=ReviewInputSerializer,
        responses={
            200: TransactionDetailSerializer,
            409: OpenApiResponse(
                description="Not held for review (not_in_review), or decided already "
                "(already_decided)."
            ),
        },
        description="Approve or decline a transaction held for review (decision review). "
        "Approving posts it and its fee to the ledger, exactly once; either way the final "
        "result goes to the producer as a transaction.review_resolved webhook message. 409 "
        "(code not_in_review or already_decided) when it is not held for review or was "
        "decided already; 404 for an unknown id.",
    )
    def post(self, request: Request, transaction_id: str) -> Response:
        tx_id = _transaction_id(transaction_id)
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review_decide(transaction_id=tx_id, **serializer.validated_data)
        return Response(TransactionDetailSerializer(transaction_detail(transaction_id=tx_id)).data)


def _transaction_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound("No such transaction.") from None


class TransactionDetailView(APIView):
    @extend_schema(
        responses={200: TransactionDetailSerializer},
        examples=[DETAIL_EXAMPLE],
        description="The transaction as this side knows it, and the state of its result "
        "webhook. 404 when it was never received.",
    )
    def get(self, request: Request, transaction_id: str) -> Response:
        tx_id = _transaction_id(transaction_id)
        return Response(TransactionDetailSerializer(transaction_detail(transaction_id=tx_id)).data)


class AccountBalancesView(APIView):
    @extend_schema(
        examples=[
            OpenApiExample(
                "balances",
                response_only=True,
                value={"iban": "DE89370400440532013000", "balances": {"EUR": "-126.75"}},
            )
        ],
        responses={
            200: AccountBalancesSerializer,
            400: OpenApiResponse(description="Not an IBAN (bad check digits or format)."),
        },
        description="Balance per currency: the sum of the account's ledger entries (money "
        "out is negative). The IBAN may have spaces or lower case. 404 when the ledger has "
        "never posted to it.",
    )
    def get(self, request: Request, iban: str) -> Response:
        try:
            code = normalize_iban(iban)
        except ValueError as exc:
            raise Invalid({"iban": [str(exc)]}) from None
        balances = account_balances(code=code)
        if balances is None:
            raise NotFound("No ledger account for this IBAN.")
        body = {"iban": code, "balances": {c: str(v) for c, v in balances.items()}}
        return Response(AccountBalancesSerializer(body).data)


class ReconciliationView(APIView):
    @extend_schema(
        parameters=[ReconciliationQuerySerializer],
        responses={200: ReconciliationDaySerializer},
        description="Per currency, the count, amount sum and fee sum of the transactions "
        "processed here (whatever their decision) whose producer created_at falls on that "
        "day (UTC), and their ids. `created_before` (an addition: the producer's settle "
        "window) leaves out what the producer created from then on.",
    )
    def get(self, request: Request) -> Response:
        query = ReconciliationQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        day = query.validated_data["date"]
        created_before = query.validated_data.get("created_before")
        body = wire.reconciliation_day(
            day=day.isoformat(),
            created_before=created_before,
            totals=[
                t.as_dict() for t in reconciliation_totals(day=day, created_before=created_before)
            ],
        )
        return Response(body)
