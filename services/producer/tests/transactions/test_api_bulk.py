import pytest

from producer.transactions.models import OutboxMessage, Transaction
from tests.factories import transfer

pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions/bulk/"


def test_all_valid_items_are_created_with_their_outbox_rows(
    api, kicks, django_capture_on_commit_callbacks
):
    items = [transfer(reference=f"R{i}") for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(URL, items, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [item["reference"] for item in body] == [f"R{i}" for i in range(5)]
    assert Transaction.objects.count() == 5
    assert OutboxMessage.objects.count() == 5
    assert len(kicks) == 1  # one kick for the whole batch


def test_one_bad_item_stores_nothing_and_names_each_bad_item_by_index(api):
    items = [transfer(), transfer(amount="0"), transfer(), transfer(currency="XYZ", extra=1)]
    response = api.post(URL, items, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"1", "3"}
    assert list(body["1"]) == ["amount"]
    assert body["3"] == {"extra": ["Unknown field."]}
    assert not Transaction.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("body", [[], {"reference": "x"}, "text"])
def test_an_empty_list_or_not_a_list_is_a_400(api, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_more_than_1000_items_is_a_400(api):
    response = api.post(URL, [transfer()] * 1001, format="json")
    assert response.status_code == 400
    assert not Transaction.objects.exists()


def test_1000_items_are_accepted_and_list_back_in_order(api):
    # Given the maximum bulk
    response = api.post(URL, [transfer(reference=str(i)) for i in range(1000)], format="json")
    assert response.status_code == 201
    # When the list is walked page by page
    seen, url = [], "/api/v1/transactions/?limit=500"
    while url:
        page = api.get(url).json()
        seen += [item["reference"] for item in page["results"]]
        url = page["next"]
    # Then every item comes back once, newest (last in the list) first
    assert seen == [str(i) for i in reversed(range(1000))]


def test_bulk_honours_the_idempotency_key(api):
    items = [transfer(), transfer(reference="other")]
    first = api.post(URL, items, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    second = api.post(URL, items, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Transaction.objects.count() == 2
