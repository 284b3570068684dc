import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from consumer.webhooks.models import MessageState, WebhookAttempt
from tests.factories import ReceivedTransactionFactory, WebhookMessageFactory

pytestmark = pytest.mark.django_db


def test_the_redeliver_action_schedules_dead_messages(
    admin_client, producer, django_capture_on_commit_callbacks
):
    dead = WebhookMessageFactory(state=MessageState.DEAD)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/webhooks/webhookmessage/",
            {"action": "redeliver", "_selected_action": [dead.id]},
        )

    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.state == MessageState.DELIVERED


@pytest.mark.parametrize(
    "path",
    [
        "/admin/intake/receivedtransaction/",
        "/admin/ledger/account/",
        "/admin/ledger/entry/",
        "/admin/webhooks/webhookmessage/",
        "/admin/webhooks/webhookattempt/",
    ],
)
def test_admin_lists_render(admin_client, path):
    ReceivedTransactionFactory(processed=True)
    WebhookMessageFactory()

    assert admin_client.get(path).status_code == 200


def test_a_message_page_shows_its_attempts(admin_client):
    message = WebhookMessageFactory()
    WebhookAttempt.objects.create(message=message, status_code=503, outcome="retry", duration_ms=3)
    # The admin escapes "_" in primary keys (msg_…), as its own links do.
    url = reverse("admin:webhooks_webhookmessage_change", args=[quote(message.id)])

    response = admin_client.get(url)

    assert response.status_code == 200
    assert b"503" in response.content


def test_a_redelivery_from_the_admin_records_the_staff_user(
    admin_client, admin_user, producer, django_capture_on_commit_callbacks
):
    from consumer.intake.models import TransactionEvent

    tx = ReceivedTransactionFactory(processed=True)
    dead = WebhookMessageFactory(
        state=MessageState.DEAD,
        payload={
            "type": "transaction.results",
            "results": [{"transaction_id": str(tx.id), "status": "processed"}],
        },
    )
    dead.transactions.add(tx)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/webhooks/webhookmessage/",
            {"action": "redeliver", "_selected_action": [dead.id]},
        )
    redelivery = TransactionEvent.objects.get(transaction=tx, kind="webhook_redelivery")
    assert redelivery.actor == f"staff:{admin_user.get_username()}"
    page = admin_client.get(f"/admin/intake/receivedtransaction/{tx.id}/change/")
    assert page.status_code == 200
    assert f"staff:{admin_user.get_username()}" in page.content.decode()
