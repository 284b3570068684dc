"""The wire formats: what each side writes, what each side reads, across versions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bankflow import wire

TX_ID = uuid.UUID("3f1c2b9e-7d4a-4c1e-9b8a-2e6f5d4c3b2a")
CLIENT_ID = uuid.UUID("0b5c6d7e-8f90-4a1b-8c2d-3e4f5a6b7c8d")
DE = "DE89370400440532013000"


def item(**overrides):
    body = {
        "id": str(TX_ID),
        "reference": "INV-1001",
        "type": "transfer",
        "amount": "125.50",
        "currency": "EUR",
        "source_account": "DE89370400440532013000",
        "destination_account": "FR1420041010050500013M02606",
        "description": "rent",
        "created_at": "2026-11-21T10:00:00Z",
        "client_id": str(CLIENT_ID),
        "correlation_id": "req-1",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def encoded(body) -> bytes:
    return json.dumps(body).encode()


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [("125.5", "EUR", "125.50"), ("100", "JPY", "100"), ("1.25", "BHD", "1.250")],
)
def test_amounts_carry_exactly_the_currency_minor_units(amount, currency, text):
    assert wire.amount_text(Decimal(amount), currency) == text


def test_datetimes_are_utc_with_a_z():
    when = datetime(2026, 11, 21, 11, 0, 0, 123456, tzinfo=UTC)
    assert wire.iso_datetime(when) == "2026-11-21T11:00:00.123456Z"


@pytest.mark.parametrize(
    ("kind", "source", "destination", "errors"),
    [
        ("transfer", "DE89370400440532013000", "FR1420041010050500013M02606", {}),
        ("transfer", "DE89370400440532013000", None, {"destination_account": ["required"]}),
        ("deposit", None, "FR1420041010050500013M02606", {}),
        ("deposit", "DE89370400440532013000", "FR14200410100505", {"source_account": ["absent"]}),
        ("withdrawal", "DE89370400440532013000", None, {}),
        ("withdrawal", None, None, {"source_account": ["required"]}),
        ("payment", DE, DE, {"destination_account": ["differ"]}),
    ],
)  # fmt: skip
def test_the_accounts_each_type_needs(kind, source, destination, errors):
    found = wire.account_errors(kind, source, destination)
    assert set(found) == set(errors)
    for field, words in errors.items():
        assert words[0] in found[field][0]


# --- intake ---------------------------------------------------------------------------------


def test_what_the_producer_writes_the_consumer_reads_back_unchanged():
    written = wire.intake_item(
        id=TX_ID,
        reference="INV-1001",
        type="transfer",
        amount=Decimal("125.500"),  # as the producer's numeric(18, 3) column holds it
        currency="EUR",
        source_account="DE89370400440532013000",
        destination_account="FR1420041010050500013M02606",
        description="rent",
        created_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        client_id=CLIENT_ID,
        correlation_id="req-1",
    )
    body = wire.encode([written])

    assert json.loads(body) == [item()]  # the v1 shape, field for field
    (read,) = wire.decode_intake(body)
    assert read["amount"] == Decimal("125.50")
    assert read["created_at"] == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert read["id"] == TX_ID


def test_an_older_producer_without_a_version_and_with_fewer_fields_is_read():
    minimal = {"id": str(TX_ID), "type": "deposit", "amount": 10, "currency": "eur"}
    (read,) = wire.decode_intake(encoded(minimal))
    assert read["amount"] == Decimal("10")
    assert wire.check_version(None) == 1


def test_a_newer_producer_may_add_fields_the_reader_ignores():
    (read,) = wire.decode_intake(encoded([item(priority="high", tags=["a"])]))
    assert "priority" not in read and read["id"] == TX_ID


@pytest.mark.parametrize("version", ["2", "0", "x"])
def test_a_version_the_reader_does_not_know_is_refused_clearly(version):
    with pytest.raises(wire.UnsupportedVersion, match="not supported") as caught:
        wire.check_version(version)
    assert caught.value.code == "unsupported_version"


def test_every_bad_field_of_every_bad_item_is_named_by_index():
    body = [item(), item(amount="abc"), item(type="gift", currency="EURO", id="x")]

    with pytest.raises(wire.WireError) as caught:
        wire.decode_intake(encoded(body))

    assert set(caught.value.errors) == {"1", "2"}
    assert set(caught.value.errors["1"]) == {"amount"}
    assert set(caught.value.errors["2"]) == {"type", "currency", "id"}


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1.1234567", "1" * 25, None, True])
def test_amounts_the_consumer_cannot_store_are_refused(amount):
    with pytest.raises(wire.WireError) as caught:
        wire.decode_intake(encoded(item(amount=amount)))
    assert "amount" in caught.value.errors


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{nope", "not JSON"), (b"[]", "got 0"), (b'"hello"', "object"), (b"[1]", "object")],
)
def test_a_body_that_is_not_items_is_refused(body, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode_intake(body)


def test_a_naive_created_at_is_refused():
    with pytest.raises(wire.WireError) as caught:
        wire.decode_intake(encoded(item(created_at="2026-11-21T10:00:00")))
    assert "created_at" in caught.value.errors


# --- results --------------------------------------------------------------------------------

RESULT = {
    "decision": "approved",
    "risk_score": 15,
    "reasons": ["cross_border"],
    "fee": "0.50",
    "processed_at": "2026-11-21T10:00:01Z",
}


def test_the_consumer_writes_a_versioned_envelope():
    message = wire.results_message(
        [
            wire.result_item(
                transaction_id=TX_ID, status="processed", correlation_id="c", result=RESULT
            ),
            wire.result_item(transaction_id=TX_ID, status="failed", correlation_id="c", reason="r"),
        ]
    )
    assert message["version"] == wire.VERSION
    assert message["results"][0] == {
        "transaction_id": str(TX_ID),
        "status": "processed",
        "correlation_id": "c",
        "result": RESULT,
    }
    assert message["results"][1]["reason"] == "r" and "result" not in message["results"][1]
    read = wire.read_results(json.loads(wire.encode(message)))
    assert read["results"][0]["transaction_id"] == TX_ID


def test_an_older_consumer_without_a_version_is_read():
    old = {
        "type": "transaction.results",
        "results": [{"transaction_id": str(TX_ID), "status": "failed"}],
    }
    assert wire.read_results(old)["results"][0]["status"] == "failed"


def test_a_newer_consumer_may_add_fields_and_the_result_is_kept_as_sent():
    result = {**RESULT, "model": "v7"}
    message = {
        "type": "transaction.results",
        "version": 1,
        "sent_by": "consumer-2",
        "results": [
            {"transaction_id": str(TX_ID), "status": "processed", "result": result, "x": 1}
        ],
    }
    assert wire.read_results(message)["results"][0]["result"] == result


def test_a_results_version_the_producer_does_not_know_is_refused():
    with pytest.raises(wire.UnsupportedVersion):
        wire.read_results({"type": "transaction.results", "version": 2, "results": []})


TOO_RISKY = {**RESULT, "risk_score": 101}


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ({"transaction_id": "x", "status": "processed", "result": RESULT}, "transaction_id"),
        ({"transaction_id": str(TX_ID), "status": "processed"}, "result"),
        ({"transaction_id": str(TX_ID), "status": "processed", "result": TOO_RISKY}, "result"),
        ({"transaction_id": str(TX_ID), "status": "lost"}, "status"),
    ],
)  # fmt: skip
def test_a_malformed_result_is_named(entry, where):
    with pytest.raises(wire.WireError) as caught:
        wire.read_results({"type": "transaction.results", "results": [entry]})
    assert where in caught.value.errors["results"]["0"]


@pytest.mark.parametrize("results", [[], [{}] * 1001])
def test_a_message_carries_1_to_1000_results(results):
    with pytest.raises(wire.WireError):
        wire.read_results({"type": "transaction.results", "results": results})


# --- review resolutions -------------------------------------------------------------


def reviewed_result(**overrides):
    result = {
        "decision": "approved",
        "risk_score": 60,
        "reasons": ["new_counterparty"],
        "fee": "1.25",
        "processed_at": "2026-11-21T11:00:00Z",
        "review": {
            "decision": "approved",
            "note": "known customer",
            "reviewer": "alice",
            "reviewed_at": "2026-11-21T11:00:00Z",
            "initial_risk_score": 60,
        },
    }
    result.update(overrides)
    return result


def test_a_review_resolution_reads_with_its_review_record():
    item = wire.result_item(
        transaction_id=TX_ID, status="processed", correlation_id="c", result=reviewed_result()
    )
    payload = json.loads(wire.encode(wire.results_message([item], type=wire.REVIEW_RESOLVED)))

    message = wire.read_results(payload)

    assert message["type"] == "transaction.review_resolved"
    assert message["results"][0]["result"]["review"]["reviewer"] == "alice"


@pytest.mark.parametrize(
    ("result", "field"),
    [
        (reviewed_result(decision="review"), "decision"),
        (reviewed_result(review=None), "review"),
        ({k: v for k, v in reviewed_result().items() if k != "review"}, "review"),
    ],
)
def test_a_review_resolution_must_be_final_and_carry_its_review(result, field):
    payload = {
        "type": wire.REVIEW_RESOLVED,
        "results": [{"transaction_id": str(TX_ID), "status": "processed", "result": result}],
    }

    with pytest.raises(wire.WireError) as caught:
        wire.read_results(payload)

    assert field in caught.value.errors["results"]["0"]["result"]


def test_a_review_resolution_is_never_a_failure():
    payload = {
        "type": wire.REVIEW_RESOLVED,
        "results": [{"transaction_id": str(TX_ID), "status": "failed", "reason": "x"}],
    }

    with pytest.raises(wire.WireError) as caught:
        wire.read_results(payload)

    assert "status" in caught.value.errors["results"]["0"]


def test_an_unknown_message_type_is_refused():
    with pytest.raises(ValueError, match="not a results message type"):
        wire.results_message([], type="transaction.other")
