"""``GET /api/v1/reconciliation/?date=…``: what the consumer processed of a producer day."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.factories import ReceivedTransactionFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/reconciliation/"
DAY = datetime(2026, 11, 21, tzinfo=UTC)


def processed(at, *, amount="10.00", currency="EUR", fee="0.50", decision="approved"):
    return ReceivedTransactionFactory(
        processed=True,
        created_at=at,
        amount=Decimal(amount),
        currency=currency,
        result={"decision": decision, "risk_score": 1, "reasons": [], "fee": fee},
    )


def test_totals_per_currency_of_the_days_processed_transactions(api):
    eur = [
        processed(DAY.replace(hour=1)),
        processed(DAY.replace(hour=23, minute=59), amount="2.25", fee="0", decision="declined"),
    ]
    jpy = processed(DAY.replace(hour=12), amount="100", currency="JPY", fee="1")
    ReceivedTransactionFactory(failed=True, created_at=DAY.replace(hour=2))  # not compared
    ReceivedTransactionFactory(created_at=DAY.replace(hour=3))  # still received
    processed(DAY.replace(day=22))  # the next day
    processed(DAY.replace(day=20, hour=23, minute=59, second=59))  # the day before

    response = api.get(URL, {"date": "2026-11-21"})

    assert response.status_code == 200
    body = response.json()
    assert body["date"] == "2026-11-21"
    assert body["created_before"] is None
    by_currency = {c["currency"]: c for c in body["currencies"]}
    assert set(by_currency) == {"EUR", "JPY"}
    assert by_currency["EUR"]["count"] == 2
    assert Decimal(by_currency["EUR"]["amount_sum"]) == Decimal("12.25")
    assert Decimal(by_currency["EUR"]["fee_sum"]) == Decimal("0.50")
    assert sorted(by_currency["EUR"]["ids"]) == sorted(str(t.id) for t in eur)
    assert by_currency["JPY"]["ids"] == [str(jpy.id)]
    assert Decimal(by_currency["JPY"]["amount_sum"]) == Decimal(100)


def test_created_before_leaves_out_the_producers_recent_work(api):
    early = processed(DAY.replace(hour=1))
    processed(DAY.replace(hour=5))
    response = api.get(URL, {"date": "2026-11-21", "created_before": "2026-11-21T04:00:00Z"})
    (eur,) = response.json()["currencies"]
    assert eur["ids"] == [str(early.id)]
    assert response.json()["created_before"] == "2026-11-21T04:00:00Z"


def test_an_empty_day_has_no_currencies(api):
    assert api.get(URL, {"date": "2026-01-01"}).json()["currencies"] == []


@pytest.mark.parametrize("query", [{}, {"date": "21.11.2026"}, {"date": "2026-02-30"}])
def test_a_missing_or_bad_date_is_400_naming_it(api, query):
    response = api.get(URL, query)
    assert response.status_code == 400
    assert "date" in response.json()


def test_the_service_token_is_required():
    assert APIClient().get(URL, {"date": "2026-11-21"}).status_code == 401
