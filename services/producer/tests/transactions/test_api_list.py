from datetime import timedelta

import pytest
from django.utils import timezone

from bankflow.wire import TransactionType
from producer.transactions.models import Status
from tests.factories import DE, GB, TransactionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions/"


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["results"]]


def test_cursor_pages_walk_every_transaction_newest_first_without_repeats(api):
    # Given 7 transactions, two sharing a timestamp
    now = timezone.now()
    made = [
        TransactionFactory(client=api.tenant, created_at=now - timedelta(seconds=i // 2))
        for i in range(7)
    ]
    expected = [str(tx.id) for tx in sorted(made, key=lambda t: (t.created_at, t.id), reverse=True)]
    # When they are read 3 at a time
    seen, url = [], f"{URL}?limit=3"
    while url:
        response = api.get(url)
        assert response.status_code == 200
        assert set(response.json()) == {"next", "previous", "results"}
        seen += ids(response)
        url = response.json()["next"]
    # Then every one is seen once, newest first
    assert seen == expected


def test_previous_goes_back(api):
    for _ in range(4):
        TransactionFactory(client=api.tenant)
    first = api.get(f"{URL}?limit=2")
    second = api.get(first.json()["next"])
    back = api.get(second.json()["previous"])
    assert ids(back) == ids(first)


def test_only_the_clients_own_transactions_are_listed(api, other_api):
    mine = TransactionFactory(client=api.tenant)
    TransactionFactory(client=other_api.tenant)
    assert ids(api.get(URL)) == [str(mine.id)]


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("status=failed", {"failed"}),
        ("type=deposit", {"deposit"}),
        ("currency=gbp", {"gbp"}),
        (f"account={GB[:4]}%20{GB[4:]}", {"gbp", "deposit"}),
        (f"account={DE.lower()}", {"failed", "gbp", "plain"}),
    ],
)
def test_filters(api, query, matches):
    made = {
        "plain": TransactionFactory(client=api.tenant),
        "failed": TransactionFactory(client=api.tenant, status=Status.FAILED),
        "deposit": TransactionFactory(
            client=api.tenant,
            type=TransactionType.DEPOSIT,
            source_account=None,
            destination_account=GB,
        ),
        "gbp": TransactionFactory(client=api.tenant, currency="GBP", destination_account=GB),
    }
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 200, response.json()
    assert set(ids(response)) == {str(made[name].id) for name in matches}


def test_created_after_and_before(api):
    now = timezone.now()
    old = TransactionFactory(client=api.tenant, created_at=now - timedelta(days=2))
    mid = TransactionFactory(client=api.tenant, created_at=now - timedelta(days=1))
    new = TransactionFactory(client=api.tenant, created_at=now)
    after = (now - timedelta(days=1, hours=1)).isoformat().replace("+00:00", "Z")
    before = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert set(ids(api.get(URL, {"created_after": after}))) == {str(mid.id), str(new.id)}
    assert set(ids(api.get(URL, {"created_before": before}))) == {str(old.id), str(mid.id)}
    both = api.get(URL, {"created_after": after, "created_before": before})
    assert ids(both) == [str(mid.id)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "status"),
        ("type=loan", "type"),
        ("currency=XYZ", "currency"),
        ("account=DE00370400440532013000", "account"),
        ("created_after=yesterday", "created_after"),
        ("created_before=2026-13-01", "created_before"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
    ],
)
def test_bad_filter_values_are_a_400_naming_the_parameter(api, query, field):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_limit_defaults_to_50_and_allows_500(api):
    TransactionFactory.create_batch(55, client=api.tenant)
    assert len(ids(api.get(URL))) == 50
    assert len(ids(api.get(f"{URL}?limit=500"))) == 55
