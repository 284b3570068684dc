from decimal import Decimal

import pytest

from producer.transactions.models import OutboxMessage, OutboxState, Transaction
from tests.factories import DE, FR, GB, transfer

pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions/"


def test_create_answers_201_with_the_contract_shape(api):
    response = api.post(URL, transfer(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id",
        "reference",
        "type",
        "amount",
        "currency",
        "source_account",
        "destination_account",
        "description",
        "status",
        "result",
        "failure_reason",
        "created_at",
        "updated_at",
    }
    assert body["amount"] == "125.50"
    assert body["status"] == "pending"
    assert body["result"] is None
    assert body["failure_reason"] is None
    assert body["created_at"].endswith("Z")


def test_create_writes_the_transaction_and_its_outbox_row_and_kicks_dispatch_once(
    api, kicks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, transfer(), format="json")
    tx = Transaction.objects.get(id=response.json()["id"])
    assert tx.client == api.tenant
    assert OutboxMessage.objects.get(transaction=tx).state == OutboxState.PENDING
    assert len(kicks) == 1


def test_the_request_correlation_id_is_stored_on_the_transaction(api):
    response = api.post(URL, transfer(), format="json", HTTP_X_CORRELATION_ID="trace-42")
    assert Transaction.objects.get(id=response.json()["id"]).correlation_id == "trace-42"


def test_ibans_with_spaces_and_lower_case_are_stored_normalised(api):
    body = transfer(source_account="de89 3704 0044 0532 0130 00", destination_account=FR.lower())
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["source_account"] == DE
    assert response.json()["destination_account"] == FR


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (125.5, "EUR", "125.50"),
        (0.1, "EUR", "0.10"),
        ("1000", "JPY", "1000"),
        ("1.25", "BHD", "1.250"),
        ("1000000000", "EUR", "1000000000.00"),
        ("7", "eur", "7.00"),
    ],
)
def test_amounts_are_decimal_strings_in_the_currency_minor_units(api, amount, currency, expected):
    response = api.post(URL, transfer(amount=amount, currency=currency), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == expected
    stored = Transaction.objects.get(id=response.json()["id"]).amount
    assert stored == Decimal(expected)


def test_a_json_number_never_becomes_a_float(api):
    # 0.1 + 0.2 as floats is 0.30000000000000004; as JSON text it is exactly 0.3.
    response = api.generic(
        "POST",
        URL,
        '{"reference": "r", "type": "deposit", "amount": 0.30000000000000004, '
        f'"currency": "EUR", "destination_account": "{FR}"}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "amount" in response.json()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1000000000.01"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        # more than 28 digits: once rounded to 0.10 and accepted (found by hypothesis)
        ({"amount": "0.1000000000000000000000000000001"}, "amount"),
        ({"amount": "123456789.0000000000000000000001"}, "amount"),
        ({"amount": "12", "currency": "JPY"} | {"amount": "12.5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": ...}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "XAU"}, "currency"),
        ({"currency": ...}, "currency"),
        ({"type": "loan"}, "type"),
        ({"source_account": "DE00370400440532013000"}, "source_account"),
        ({"destination_account": "not an iban"}, "destination_account"),
        ({"source_account": None}, "source_account"),
        ({"destination_account": ...}, "destination_account"),
        ({"destination_account": DE}, "destination_account"),
        ({"reference": "x" * 129}, "reference"),
        ({"reference": ""}, "reference"),
        ({"reference": ...}, "reference"),
        ({"description": "x" * 501}, "description"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(api, overrides, field):
    response = api.post(URL, transfer(**overrides), format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field], body
    assert isinstance(body[field], list)
    assert all(isinstance(message, str) for message in body[field])
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("type_", "source", "destination", "field"),
    [
        ("deposit", DE, FR, "source_account"),
        ("deposit", None, None, "destination_account"),
        ("withdrawal", DE, GB, "destination_account"),
        ("withdrawal", None, GB, "source_account"),
        ("payment", DE, None, "destination_account"),
    ],
)
def test_type_rules_for_accounts(api, type_, source, destination, field):
    body = transfer(type=type_, source_account=source, destination_account=destination)
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("type_", "source", "destination"),
    [("deposit", ..., FR), ("deposit", None, FR), ("withdrawal", DE, ...), ("payment", DE, GB)],
)
def test_each_type_with_its_accounts_is_accepted(api, type_, source, destination):
    body = transfer(type=type_, source_account=source, destination_account=destination)
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()


def test_unknown_fields_are_rejected(api):
    response = api.post(URL, transfer(status="processed", fee="1"), format="json")
    assert response.status_code == 400
    assert response.json() == {"fee": ["Unknown field."], "status": ["Unknown field."]}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ("[1, 2", "application/json"),
        ("amount=1", "application/x-www-form-urlencoded"),
        ("\xff\xfe", "application/json"),
        ('{"amount": NaN}', "application/json"),
    ],
)
def test_a_body_that_is_not_json_is_a_400_never_a_500(api, body, content_type):
    response = api.generic("POST", URL, body, content_type=content_type)
    assert response.status_code == 400
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("body", [[], [1], "text", 12, None])
def test_a_json_body_that_is_not_an_object_is_a_400(api, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_database_gone_away_answers_503_with_retry_after_and_writes_nothing(api, monkeypatch):
    from django.db import OperationalError

    from producer.transactions import services

    def gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "transaction_create", gone)
    response = api.post("/api/v1/transactions/", transfer(), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "The service's database does not answer; try again shortly.",
        "code": "unavailable",
    }
    assert not Transaction.objects.exists()
