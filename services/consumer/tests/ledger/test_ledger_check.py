import json
import uuid
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from consumer.ledger.models import Account, Entry

pytestmark = pytest.mark.django_db


def post(account, amount, leg, tx):
    Entry.objects.create(
        account=account, currency="EUR", amount=Decimal(amount), leg=leg, transaction_id=tx
    )


def accounts():
    return (
        Account.objects.create(code="DE89370400440532013000", kind="customer"),
        Account.objects.create(code="FR1420041010050500013M02606", kind="customer"),
    )


def test_a_balanced_ledger_reports_its_totals(capsys):
    source, destination = accounts()
    tx = uuid.uuid4()
    post(source, "-10.00", "debit", tx)
    post(destination, "10.00", "credit", tx)
    call_command("ledger_check")
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "balanced": True,
        "entries": 2,
        "totals": {"EUR": "0.0000"},
        "transactions": 1,
    }


def test_an_unbalanced_ledger_fails(capsys):
    source, _ = accounts()
    post(source, "-10.00", "debit", uuid.uuid4())
    with pytest.raises(CommandError, match="does not balance"):
        call_command("ledger_check")
    assert json.loads(capsys.readouterr().out)["balanced"] is False
