import uuid

import pytest

from producer.transactions.models import OutboxMessage, OutboxState, Status, Transaction
from tests.factories import OutboxMessageFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def url(tx, suffix: str = "") -> str:
    return f"/api/v1/transactions/{tx.id}/{suffix}"


def test_retrieve(api):
    tx = TransactionFactory(client=api.tenant)
    response = api.get(url(tx))
    assert response.status_code == 200
    assert response.json()["id"] == str(tx.id)


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("patch", ""), ("delete", ""), ("post", "retry/")]
)
def test_another_clients_transaction_is_404(api, other_api, method, suffix):
    theirs = TransactionFactory(client=other_api.tenant, status=Status.FAILED)
    response = getattr(api, method)(url(theirs, suffix), {"reference": "x"}, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.FAILED
    assert theirs.reference != "x"


@pytest.mark.parametrize("path", [f"{uuid.uuid4()}/", "not-a-uuid/", "1/"])
def test_unknown_or_malformed_id_is_404(api, path):
    assert api.get(f"/api/v1/transactions/{path}").status_code == 404


def test_patch_changes_reference_and_description_while_pending(api):
    tx = OutboxMessageFactory(transaction__client=api.tenant).transaction
    response = api.patch(url(tx), {"reference": "NEW", "description": "d"}, format="json")
    assert response.status_code == 200, response.json()
    tx.refresh_from_db()
    assert (tx.reference, tx.description) == ("NEW", "d")


@pytest.mark.parametrize("body", [{"amount": "1"}, {"status": "processed"}, {}])
def test_patch_of_other_fields_or_nothing_is_400(api, body):
    tx = TransactionFactory(client=api.tenant)
    response = api.patch(url(tx), body, format="json")
    assert response.status_code == 400
    tx.refresh_from_db()
    assert tx.status == Status.PENDING


def test_put_is_not_allowed(api):
    tx = TransactionFactory(client=api.tenant)
    assert api.put(url(tx), {}, format="json").status_code == 405


@pytest.mark.parametrize("status", [Status.DISPATCHED, Status.PROCESSED, Status.FAILED])
def test_patch_after_pending_is_409(api, status):
    tx = TransactionFactory(client=api.tenant, status=status)
    response = api.patch(url(tx), {"reference": "NEW"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_delete_cancels_a_pending_transaction_and_its_outbox_row(api):
    message = OutboxMessageFactory(transaction__client=api.tenant)
    response = api.delete(url(message.transaction))
    assert response.status_code == 204
    message.refresh_from_db()
    assert message.transaction.status == Status.CANCELLED
    assert message.state == OutboxState.CANCELLED
    assert Transaction.objects.filter(id=message.transaction_id).exists()  # never deleted


@pytest.mark.parametrize(
    "status", [Status.DISPATCHED, Status.PROCESSED, Status.FAILED, Status.CANCELLED]
)
def test_delete_after_pending_is_409(api, status):
    tx = TransactionFactory(client=api.tenant, status=status)
    assert api.delete(url(tx)).status_code == 409
    tx.refresh_from_db()
    assert tx.status == status


def test_cancel_is_refused_while_the_dispatch_is_in_flight(api):
    # Given a pending transaction whose outbox row a dispatcher has claimed
    message = OutboxMessageFactory(transaction__client=api.tenant, state=OutboxState.IN_FLIGHT)
    # When the client cancels
    response = api.delete(url(message.transaction))
    # Then it is refused: the consumer may already have it
    assert response.status_code == 409
    message.refresh_from_db()
    assert message.transaction.status == Status.PENDING
    assert message.state == OutboxState.IN_FLIGHT


def test_patch_is_refused_while_the_dispatch_is_in_flight(api):
    message = OutboxMessageFactory(transaction__client=api.tenant, state=OutboxState.IN_FLIGHT)
    assert api.patch(url(message.transaction), {"reference": "X"}, format="json").status_code == 409


def test_retry_puts_a_failed_transaction_back_with_a_fresh_outbox_row(
    api, kicks, django_capture_on_commit_callbacks
):
    old = OutboxMessageFactory(
        transaction__client=api.tenant,
        transaction__status=Status.FAILED,
        transaction__failure_reason="consumer unreachable after 8 attempts",
        state=OutboxState.FAILED,
        attempts=8,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url(old.transaction, "retry/"))
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["failure_reason"] is None
    fresh = OutboxMessage.objects.get(transaction=old.transaction, state=OutboxState.PENDING)
    assert fresh.attempts == 0
    assert len(kicks) == 1


@pytest.mark.parametrize(
    "status", [Status.PENDING, Status.DISPATCHED, Status.PROCESSED, Status.CANCELLED]
)
def test_retry_of_anything_but_failed_is_409(api, status):
    tx = TransactionFactory(client=api.tenant, status=status)
    assert api.post(url(tx, "retry/")).status_code == 409


def test_retry_is_refused_while_an_earlier_dispatch_is_in_flight(api):
    # A result can overtake the dispatcher: failed while its row is still in flight.
    message = OutboxMessageFactory(
        transaction__client=api.tenant,
        transaction__status=Status.FAILED,
        state=OutboxState.IN_FLIGHT,
    )
    assert api.post(url(message.transaction, "retry/")).status_code == 409
