import json

import pytest
import responses

from bankflow.logging import correlation
from bankflow.webhooks import WebhookVerificationError, verify
from consumer.webhooks.client import post_signed

PAYLOAD = {"type": "transaction.results", "results": [{"transaction_id": "t", "fee": "1.25"}]}


def test_the_request_is_signed_the_standard_webhooks_way(settings, producer):
    with correlation("trace-42"):
        answer = post_signed(msg_id="msg_1", payload=PAYLOAD)

    request = producer.calls[0].request
    assert answer.status_code == 200
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["X-Correlation-ID"] == "trace-42"
    assert request.headers["Content-Type"] == "application/json"
    assert verify([settings.WEBHOOK_SECRET], headers=request.headers, body=request.body) == PAYLOAD
    with pytest.raises(WebhookVerificationError):
        verify(["whsec_" + "A" * 44], headers=request.headers, body=request.body)


def test_the_body_is_compact_json(producer):
    post_signed(msg_id="msg_1", payload=PAYLOAD)

    body = producer.calls[0].request.body
    assert json.loads(body) == PAYLOAD
    assert b" " not in body


def test_no_answer_is_reported_without_a_status(producer, settings):
    producer.replace(
        responses.POST, settings.PRODUCER_WEBHOOK_URL, body=responses.ConnectionError("refused")
    )

    answer = post_signed(msg_id="msg_1", payload=PAYLOAD)

    assert answer.status_code is None
    assert answer.error.startswith("ConnectionError")


def test_an_error_answer_keeps_the_start_of_its_body(producer, settings):
    producer.replace(responses.POST, settings.PRODUCER_WEBHOOK_URL, status=400, body="x" * 2000)

    answer = post_signed(msg_id="msg_1", payload=PAYLOAD)

    assert (answer.status_code, len(answer.error)) == (400, 500)
