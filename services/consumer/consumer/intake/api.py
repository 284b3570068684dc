"""The consumer API: thin views over one service or selector each."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankflow.money import normalize_iban
from consumer.intake.selectors import transaction_detail
from consumer.intake.serializers import (
    AccountBalancesSerializer,
    IntakeAnswerSerializer,
    IntakeItemSerializer,
    TransactionDetailSerializer,
    validate_intake,
)
from consumer.intake.services import transactions_receive
from consumer.ledger.selectors import account_balances


class TransactionIntakeView(APIView):
    @extend_schema(
        request=IntakeItemSerializer(many=True),
        responses={202: IntakeAnswerSerializer},
        description="One transaction or a list of 1-1000, with the producer's ids. An id "
        "already received answers 202 again (listed in duplicates) and is not processed "
        "twice; if its result is final it is sent again in a new webhook message.",
    )
    def post(self, request: Request) -> Response:
        outcome = transactions_receive(items=validate_intake(request.data))
        body = {"accepted": outcome.accepted, "duplicates": outcome.duplicates}
        return Response(IntakeAnswerSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TransactionDetailView(APIView):
    @extend_schema(responses={200: TransactionDetailSerializer})
    def get(self, request: Request, transaction_id: str) -> Response:
        try:
            detail = transaction_detail(transaction_id=UUID(transaction_id))
        except ValueError:
            detail = None
        if detail is None:
            raise exceptions.NotFound("No such transaction.")
        return Response(TransactionDetailSerializer(detail).data)


class AccountBalancesView(APIView):
    @extend_schema(
        responses={200: AccountBalancesSerializer},
        description="Balance per currency: the sum of the account's ledger entries (money "
        "out is negative). The IBAN may have spaces or lower case. 404 when the ledger has "
        "never posted to it.",
    )
    def get(self, request: Request, iban: str) -> Response:
        try:
            code = normalize_iban(iban)
        except ValueError as exc:
            raise serializers.ValidationError({"iban": [str(exc)]}) from None
        balances = account_balances(code=code)
        if balances is None:
            raise exceptions.NotFound("No ledger account for this IBAN.")
        body = {"iban": code, "balances": {c: str(v) for c, v in balances.items()}}
        return Response(AccountBalancesSerializer(body).data)
