import json
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from consumer.intake.models import ReceivedTransaction, Status
from consumer.ledger.models import Entry
from consumer.ledger.selectors import account_balances, ledger_totals
from consumer.processing.services import transactions_process, transactions_sweep_stuck
from consumer.webhooks.models import WebhookMessage
from tests.factories import DE, FR, ReceivedTransactionFactory

pytestmark = pytest.mark.django_db

RU = "RU0900000000000000000001111111111"


def process(*rows):
    return transactions_process(transaction_ids=[r.id for r in rows])


def test_an_approved_transfer_is_priced_posted_and_reported(django_capture_on_commit_callbacks):
    row = ReceivedTransactionFactory(amount=Decimal("125.50"))

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = process(row)

    row.refresh_from_db()
    assert outcome.processed == {"approved": 1}
    assert row.status == Status.PROCESSED
    assert row.result["decision"] == "approved"
    assert row.result["fee"] == "0.50"
    assert row.result["reasons"] == ["cross_border", "new_counterparty"]
    assert row.result["processed_at"].endswith("Z")
    assert account_balances(code=DE) == {"EUR": Decimal("-126.00")}
    assert account_balances(code=FR) == {"EUR": Decimal("125.50")}
    assert account_balances(code="FEES-EUR") == {"EUR": Decimal("0.50")}
    message = WebhookMessage.objects.get()
    assert message.payload == {
        "type": "transaction.results",
        "version": 1,
        "results": [
            {
                "transaction_id": str(row.id),
                "status": "processed",
                "correlation_id": row.correlation_id,
                "result": row.result,
            }
        ],
    }
    assert len(callbacks) == 1  # the delivery


def test_a_business_rule_violation_fails_the_transaction_with_its_reason():
    row = ReceivedTransactionFactory(amount=Decimal("1.5"), currency="JPY")

    outcome = process(row)

    row.refresh_from_db()
    assert (outcome.failed, row.status, row.result) == (1, Status.FAILED, None)
    assert "JPY allows at most 0 decimal places" in row.failure_reason
    result = WebhookMessage.objects.get().payload["results"][0]
    assert result == {
        "transaction_id": str(row.id),
        "status": "failed",
        "correlation_id": row.correlation_id,
        "reason": row.failure_reason,
    }
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    ("amount", "destination", "decision"),
    [("100000.00", RU, "declined"), ("100.00", RU, "review")],
)
def test_declined_and_review_post_nothing_and_cost_nothing(amount, destination, decision):
    row = ReceivedTransactionFactory(amount=Decimal(amount), destination_account=destination)

    process(row)

    row.refresh_from_db()
    assert row.result["decision"] == decision
    assert row.result["fee"] == "0.00"
    assert not Entry.objects.exists()


def test_a_batch_mixes_outcomes_in_one_message():
    rows = [
        ReceivedTransactionFactory(),
        ReceivedTransactionFactory(currency="XYZ"),
        ReceivedTransactionFactory(type="deposit", source_account=""),
    ]

    outcome = process(*rows)

    assert outcome.processed == {"approved": 2}
    assert outcome.failed == 1
    message = WebhookMessage.objects.get()
    assert {r["transaction_id"] for r in message.payload["results"]} == {str(r.id) for r in rows}
    assert message.transactions.count() == 3
    json.dumps(message.payload)  # JSON all the way: no Decimal, no datetime


def test_processing_twice_changes_nothing_the_second_time():
    row = ReceivedTransactionFactory()
    process(row)
    result = ReceivedTransaction.objects.get(id=row.id).result

    outcome = process(row)

    assert outcome.skipped == 1
    assert ReceivedTransaction.objects.get(id=row.id).result == result
    assert Entry.objects.count() == 4
    assert WebhookMessage.objects.count() == 1


def test_a_row_left_in_processing_by_a_dead_worker_is_processed():
    row = ReceivedTransactionFactory(status=Status.PROCESSING)

    process(row)

    row.refresh_from_db()
    assert row.status == Status.PROCESSED


def test_unknown_ids_are_skipped():
    outcome = transactions_process(transaction_ids=[uuid.uuid4()])

    assert outcome.skipped == 1


def test_the_ledger_balances_after_every_kind_of_transaction():
    process(
        ReceivedTransactionFactory(type="transfer"),
        ReceivedTransactionFactory(type="payment"),
        ReceivedTransactionFactory(type="deposit", source_account=""),
        ReceivedTransactionFactory(type="withdrawal", destination_account=""),
        ReceivedTransactionFactory(type="transfer", currency="JPY", amount=Decimal("5000")),
    )

    assert ledger_totals() == {"EUR": Decimal(0), "JPY": Decimal(0)}


def test_the_sweep_enqueues_rows_stuck_past_the_timeout(
    settings, producer, django_capture_on_commit_callbacks, time_machine
):
    settings.PROCESSING_STUCK_AFTER_SECONDS = 60
    time_machine.move_to(timezone.now(), tick=False)
    stuck = ReceivedTransactionFactory(status=Status.PROCESSING)
    time_machine.shift(61)
    fresh = ReceivedTransactionFactory()

    with django_capture_on_commit_callbacks(execute=True):
        count = transactions_sweep_stuck()

    assert count == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == Status.PROCESSED
    assert fresh.status == Status.RECEIVED
    assert transactions_sweep_stuck() == 0  # touched: not enqueued again at once
