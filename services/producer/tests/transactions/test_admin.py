import pytest

from tests.factories import OutboxMessageFactory

pytestmark = pytest.mark.django_db


def test_transaction_admin_pages_load(admin_client):
    message = OutboxMessageFactory()
    for page in [
        "/admin/transactions/transaction/",
        "/admin/transactions/transaction/?status__exact=pending",
        f"/admin/transactions/transaction/{message.transaction_id}/change/",
        "/admin/transactions/outboxmessage/",
        "/admin/transactions/idempotencykey/",
        "/admin/transactions/webhookreceipt/",
    ]:
        assert admin_client.get(page).status_code == 200, page


def test_a_transactions_page_shows_its_events_read_only(admin_client):
    from producer.transactions import events

    tx = OutboxMessageFactory().transaction
    events.record(tx, "created", previous=None, new="pending", actor="client:x")
    page = admin_client.get(f"/admin/transactions/transaction/{tx.id}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "client:x" in text
    assert 'name="events-0-kind"' not in text  # shown, not editable


def test_reconciliation_runs_show_their_lines(admin_client):
    from datetime import date

    from django.utils import timezone

    from producer.reconciliation.models import ReconciliationLine, ReconciliationRun

    run = ReconciliationRun.objects.create(
        created_before=timezone.now(), outcome="mismatched", mismatched=1, days=["2026-11-21"]
    )
    ReconciliationLine.objects.create(
        run=run,
        day=date(2026, 11, 21),
        currency="EUR",
        matched=False,
        producer_count=2,
        consumer_count=1,
        producer_amount=2,
        consumer_amount=1,
        producer_fee=0,
        consumer_fee=0,
        only_producer=["3f1c0000-0000-0000-0000-000000000001"],
    )
    assert admin_client.get("/admin/reconciliation/reconciliationrun/").status_code == 200
    page = admin_client.get(f"/admin/reconciliation/reconciliationrun/{run.pk}/change/")
    assert page.status_code == 200
    assert "3f1c0000-0000-0000-0000-000000000001" in page.content.decode()
