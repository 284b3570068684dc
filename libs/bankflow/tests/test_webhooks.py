import json
from datetime import UTC, datetime, timedelta

import pytest

from bankflow import webhooks

BODY = json.dumps({"type": "transaction.results", "results": []})


def test_signed_message_verifies_and_returns_the_payload():
    secret = webhooks.generate_secret()
    headers = webhooks.sign(secret, msg_id="msg_1", body=BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert webhooks.verify([secret], headers=headers, body=BODY) == json.loads(BODY)


def test_any_configured_secret_verifies_during_rotation():
    old, new = webhooks.generate_secret(), webhooks.generate_secret()
    headers = webhooks.sign(old, msg_id="msg_1", body=BODY)
    assert webhooks.verify([new, old], headers=headers, body=BODY)


def test_several_signatures_in_one_header_are_accepted():
    old, new = webhooks.generate_secret(), webhooks.generate_secret()
    first = webhooks.sign(old, msg_id="m", body=BODY)
    second = webhooks.sign(
        new,
        msg_id="m",
        body=BODY,
        timestamp=datetime.fromtimestamp(int(first["webhook-timestamp"]), tz=UTC),
    )
    headers = {
        **first,
        "webhook-signature": f"{first['webhook-signature']} {second['webhook-signature']}",
    }
    assert webhooks.verify([new], headers=headers, body=BODY)


def test_tampered_body_is_refused():
    secret = webhooks.generate_secret()
    headers = webhooks.sign(secret, msg_id="msg_1", body=BODY)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([secret], headers=headers, body=BODY.replace("results", "resultz"))


def test_wrong_secret_and_missing_headers_are_refused():
    headers = webhooks.sign(webhooks.generate_secret(), msg_id="msg_1", body=BODY)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([webhooks.generate_secret()], headers=headers, body=BODY)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([webhooks.generate_secret()], headers={}, body=BODY)


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_timestamps_more_than_five_minutes_off_are_refused(skew):
    secret = webhooks.generate_secret()
    headers = webhooks.sign(secret, msg_id="m", body=BODY, timestamp=datetime.now(tz=UTC) + skew)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([secret], headers=headers, body=BODY)


def test_no_secret_configured_refuses():
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([], headers={}, body=BODY)


def test_malformed_signature_header_is_a_verification_failure():
    secret = webhooks.generate_secret()
    headers = {**webhooks.sign(secret, msg_id="m", body=BODY), "webhook-signature": "garbage"}
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([secret], headers=headers, body=BODY)


def test_signed_body_that_is_not_json_raises_value_error():
    secret = webhooks.generate_secret()
    headers = webhooks.sign(secret, msg_id="m", body="not json")
    with pytest.raises(ValueError, match="Expecting value"):
        webhooks.verify([secret], headers=headers, body="not json")
