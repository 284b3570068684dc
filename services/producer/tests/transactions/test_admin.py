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
