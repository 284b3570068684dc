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
from rest_framework import status
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
    TransactionDetailSerializer,
)
from consumer.ledger.selectors import account_balances
from consumer.processing.selectors import transaction_detail
from consumer.processing.services import transactions_receive

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


class TransactionDetailView(APIView):
    @extend_schema(
        responses={200: TransactionDetailSerializer},
        examples=[DETAIL_EXAMPLE],
        description="The transaction as this side knows it, and the state of its result "
        "webhook. 404 when it was never received.",
    )
    def get(self, request: Request, transaction_id: str) -> Response:
        try:
            tx_id = UUID(transaction_id)
        except ValueError:
            raise NotFound("No such transaction.") from None
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
