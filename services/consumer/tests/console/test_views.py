import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from consumer.review.models import ReviewDecision
from consumer.webhooks.models import MessageState
from tests.factories import DE, ReceivedTransactionFactory, WebhookMessageFactory
from tests.review.test_services import held

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    user = User.objects.create_user("rita", password="pw-rita-123", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewer"))
    return user


@pytest.fixture
def operator():
    return User.objects.create_superuser("olga", password="pw-olga-123")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_root_redirects_to_the_console(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/console/")


@pytest.mark.parametrize(
    "path", ["/console/", "/console/transactions/", "/console/reviews/", "/console/webhooks/",
             "/console/accounts/", "/console/overview/panel/"]
)  # fmt: skip
def test_every_page_needs_a_staff_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/")


def test_a_user_who_is_not_staff_cannot_log_in():
    User.objects.create_user("nope", password="pw-nope-123")
    client = Client()

    response = client.post("/console/login/", {"username": "nope", "password": "pw-nope-123"})

    assert response.status_code == 200  # the form again, with its error
    assert client.get("/console/").status_code == 302


def test_login_needs_the_csrf_token(reviewer):
    client = Client(enforce_csrf_checks=True)

    without = client.post("/console/login/", {"username": "rita", "password": "pw-rita-123"})
    page = client.get("/console/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    with_token = client.post(
        "/console/login/",
        {"username": "rita", "password": "pw-rita-123", "csrfmiddlewaretoken": token},
    )

    assert without.status_code == 403
    assert (with_token.status_code, with_token["Location"]) == (302, "/console/")


def test_every_page_renders_for_a_reviewer(reviewer, producer):
    tx = held(source_account=DE)
    ReceivedTransactionFactory(processed=True)
    WebhookMessageFactory(state=MessageState.DEAD, attempts=11)
    client = logged_in(reviewer)
    for path in [
        "/console/",
        "/console/overview/panel/",
        "/console/transactions/",
        f"/console/transactions/?q={tx.id}",
        f"/console/transactions/?q={DE}&status=processed&decision=review&date_from=2020-01-01",
        f"/console/transactions/{tx.id}/",
        "/console/reviews/",
        "/console/webhooks/",
        "/console/accounts/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
    assert str(tx.id) in client.get("/console/reviews/").text


def test_the_overview_counts_and_the_review_queue(reviewer):
    held()
    held()
    ReceivedTransactionFactory(failed=True)
    WebhookMessageFactory(state=MessageState.DEAD)

    o = logged_in(reviewer).get("/console/").context["o"]

    assert o.by_status["processed"] == 2 and o.by_status["failed"] == 1
    assert o.by_decision["review"] == 2
    assert o.review.size == 2 and o.review.oldest is not None
    assert o.webhooks_dead == 1


def test_search_finds_by_id_iban_and_reference(reviewer):
    tx = ReceivedTransactionFactory(reference="INV-FIND-ME", source_account=DE)
    other = ReceivedTransactionFactory(source_account="GB82WEST12345698765432")
    client = logged_in(reviewer)

    def found(query):
        return {t.id for t in client.get("/console/transactions/", {"q": query}).context["page"]}

    assert found(str(tx.id)) == {tx.id}
    assert found("INV-FIND-ME") == {tx.id}
    assert tx.id in found("de89 3704 0044 0532 0130 00")
    assert other.id not in found(DE)


def test_a_reviewer_decides_and_the_decision_records_the_staff_user(reviewer, producer):
    tx = held()
    client = logged_in(reviewer)

    response = client.post(
        f"/console/reviews/{tx.id}/", {"decision": "approved", "note": "known"}, follow=True
    )

    decision = ReviewDecision.objects.get(transaction=tx)
    assert (decision.reviewer, decision.reviewer_user, decision.note) == ("rita", reviewer, "known")
    assert "approved; the producer is told" in response.text


def test_the_second_reviewer_is_told_already_decided(reviewer, operator, producer):
    tx = held()
    logged_in(operator).post(f"/console/reviews/{tx.id}/", {"decision": "declined"})

    response = logged_in(reviewer).post(
        f"/console/reviews/{tx.id}/", {"decision": "approved"}, follow=True
    )

    assert "Already decided: declined by olga" in response.text
    assert ReviewDecision.objects.get(transaction=tx).decision == "declined"


def test_staff_outside_the_reviewer_group_cannot_decide():
    viewer = User.objects.create_user("vic", password="pw", is_staff=True)
    tx = held()

    response = logged_in(viewer).post(f"/console/reviews/{tx.id}/", {"decision": "approved"})

    assert response.status_code == 403
    assert not ReviewDecision.objects.exists()


def test_the_reviewer_group_decides_but_changes_no_settings(reviewer):
    assert reviewer.has_perm("review.decide_review")
    assert not reviewer.has_perm("review.redeliver_webhooks")
    assert not reviewer.has_perm("auth.change_user")
    assert not reviewer.has_perm("auth.change_group")
    assert not any(p.split(".")[1].startswith(("add_", "change_", "delete_"))
                   for p in reviewer.get_all_permissions())  # fmt: skip


def test_an_operator_redelivers_one_or_every_dead_message(operator, producer):
    one = WebhookMessageFactory(state=MessageState.DEAD, attempts=11)
    two = WebhookMessageFactory(state=MessageState.DEAD, attempts=11)
    client = logged_in(operator)

    response = client.post("/console/webhooks/redeliver/", {"message": one.id}, follow=True)
    assert "1 message(s) scheduled" in response.text
    response = client.post("/console/webhooks/redeliver/", {"all_dead": "1"}, follow=True)
    assert "1 message(s) scheduled" in response.text

    one.refresh_from_db()
    two.refresh_from_db()
    assert one.state != MessageState.DEAD and two.state != MessageState.DEAD


def test_a_reviewer_cannot_redeliver(reviewer):
    message = WebhookMessageFactory(state=MessageState.DEAD)

    response = logged_in(reviewer).post("/console/webhooks/redeliver/", {"message": message.id})

    assert response.status_code == 403


def test_an_account_shows_its_balances_and_entries(operator, producer):
    from consumer.review.services import review_decide

    tx = held(source_account=DE)
    review_decide(transaction_id=tx.id, decision="approved", note="", reviewer="olga")
    client = logged_in(operator)

    listing = client.get("/console/accounts/", {"q": DE})
    detail = client.get(f"/console/accounts/{DE}/")

    assert [r.account.code for r in listing.context["rows"]] == [DE]
    assert detail.status_code == 200
    assert detail.context["row"].balances["EUR"] < 0
    assert len(detail.context["page"]) == 2  # the principal and the fee it paid
