from decimal import Decimal
from uuid import uuid4

import pytest

from bankflow import reconciliation, wire


def test_totals_sum_exactly_per_currency():
    a, b, c = uuid4(), uuid4(), uuid4()
    found = reconciliation.totals(
        [
            (a, "EUR", Decimal("0.10"), "0.01"),
            (str(b), "EUR", Decimal("0.200000"), None),
            (c, "JPY", Decimal("5"), "1"),
        ]
    )
    assert found["EUR"].count == 2
    assert found["EUR"].amount_sum == Decimal("0.3")
    assert found["EUR"].fee_sum == Decimal("0.01")
    assert found["EUR"].ids == {a, b}
    assert found["JPY"].ids == {c}


def test_a_pair_matches_only_when_count_sums_and_ids_agree():
    a, b = uuid4(), uuid4()
    ours = reconciliation.totals([(a, "EUR", Decimal("1.50"), "0.10")])
    same = reconciliation.totals([(a, "EUR", Decimal("1.500000"), "0.1")])
    assert [c.matched for c in reconciliation.compare(ours, same)] == [True]
    other_fee = reconciliation.totals([(a, "EUR", Decimal("1.50"), "0.20")])
    assert [c.matched for c in reconciliation.compare(ours, other_fee)] == [False]
    swapped = reconciliation.totals([(b, "EUR", Decimal("1.50"), "0.10")])
    (comparison,) = reconciliation.compare(ours, swapped)
    assert not comparison.matched
    assert (comparison.only_ours, comparison.only_theirs) == ([a], [b])


def test_a_currency_on_one_side_only_is_a_mismatch_naming_its_ids():
    a = uuid4()
    (comparison,) = reconciliation.compare({}, reconciliation.totals([(a, "GBP", 1, "0")]))
    assert comparison.currency == "GBP"
    assert not comparison.matched
    assert comparison.only_theirs == [a]


def test_at_most_the_limit_of_ids_is_listed_per_side():
    rows = [(uuid4(), "EUR", 1, "0") for _ in range(5)]
    (comparison,) = reconciliation.compare(reconciliation.totals(rows), {}, limit=3)
    assert len(comparison.only_ours) == 3
    assert comparison.ours.count == 5


def test_the_wire_round_trip():
    a = uuid4()
    totals = reconciliation.totals([(a, "EUR", Decimal("1.50"), "0.10")])
    body = wire.reconciliation_day(
        day="2026-11-21", created_before=None, totals=[t.as_dict() for t in totals.values()]
    )
    assert body["currencies"][0]["amount_sum"] == "1.50"
    read = wire.read_reconciliation_day(body)
    assert reconciliation.from_wire(read["currencies"])["EUR"] == totals["EUR"]
    with pytest.raises(wire.WireError):
        wire.read_reconciliation_day({"date": "2026-11-21", "currencies": [{"currency": 1}]})
