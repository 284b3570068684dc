"""The consumer's result webhooks: verified on the raw body, deduplicated on webhook-id."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankflow import webhooks, wire
from bankflow.api import application_error_response, wire_schema
from bankflow.logging import get_logger
from producer.transactions import metrics
from producer.transactions.services import webhook_receive

log = get_logger("producer.webhooks")

MSG_ID_MAX_LENGTH = 255


class WebhookAnswerSerializer(serializers.Serializer):
    applied = serializers.IntegerField(required=False)
    ignored = serializers.IntegerField(required=False)
    duplicate = serializers.BooleanField(required=False)


class ConsumerWebhookView(APIView):
    """``POST /api/v1/webhooks/consumer/``: Standard Webhooks signature, no API key."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []  # the signature covers the raw body: read it, never re-parse
    throttle_classes: list[Any] = []  # no client, no client budget (docs/api.md: not limited)

    def _refuse(self, status_code: int, outcome: str, detail: Any) -> Response:
        metrics.webhooks_received.labels(outcome=outcome).inc()
        return Response(detail, status=status_code)

    @extend_schema(
        summary="Results from the consumer (signed per Standard Webhooks)",
        request=wire_schema(wire.ResultsMessage),
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        ],
        responses={
            200: WebhookAnswerSerializer,
            400: OpenApiResponse(description="Signed but malformed (not retried)."),
            401: OpenApiResponse(description="Bad or missing signature, or stale timestamp."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = request.body
        try:
            payload = webhooks.verify(settings.WEBHOOK_SECRETS, headers=request.headers, body=body)
        except webhooks.WebhookVerificationError as exc:
            log.warning("webhook_refused", reason=str(exc))
            return self._refuse(
                401,
                "unauthorized",
                {"detail": "Invalid webhook signature.", "code": "unauthorized"},
            )
        except ValueError:
            return self._refuse(
                400, "invalid", {"detail": "The body is not JSON.", "code": "parse_error"}
            )
        msg_id = request.headers["webhook-id"]
        if len(msg_id) > MSG_ID_MAX_LENGTH:
            return self._refuse(400, "invalid", {"webhook-id": ["At most 255 characters."]})
        try:
            message = wire.read_results(payload)
        except (wire.WireError, wire.UnsupportedVersion) as exc:
            log.warning("webhook_invalid", msg_id=msg_id, error=str(exc))
            metrics.webhooks_received.labels(outcome="invalid").inc()
            return application_error_response(exc)
        answer = webhook_receive(msg_id=msg_id, results=message["results"], type=message["type"])
        metrics.webhooks_received.labels(
            outcome="duplicate" if answer.get("duplicate") else "applied"
        ).inc()
        log.info("webhook_received", msg_id=msg_id, **answer)
        return Response(answer)
