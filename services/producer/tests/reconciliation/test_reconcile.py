"""Reconciliation against a faked consumer: the consumer's answer is computed from a list
of (id, currency, amount, fee) rows the test controls, the way the consumer computes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import requests
import responses
from django.core.management import call_command
from prometheus_client import REGISTRY

from bankflow import reconciliation, wire
from producer.reconciliation.models import ReconciliationRun
from producer.reconciliation.services import default_days, reconciliation_run
from producer.transactions.models import Status
from tests.conftest import CONSUMER_URL
from tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db
URL = f"{CONSUMER_URL}/api/v1/reconciliation/"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = NOW.date() - timedelta(days=1)


def processed(at, *, amount="10.00", currency="EUR", fee="0.50"):
    return TransactionFactory(
        status=Status.PROCESSED,
        created_at=at,
        amount=Decimal(amount),
        currency=currency,
        result={"decision": "approved", "risk_score": 1, "reasons": [], "fee": fee},
    )


def rows_of(transactions):
    return [(t.id, t.currency, t.amount, t.result["fee"]) for t in transactions]


class FakeConsumer:
    """Answers the reconciliation endpoint from ``rows`` (with each row's created_at)."""

    def __init__(self, mock):
        self.rows: list[tuple] = []
        self.queries: list[dict] = []
        mock.add_callback(responses.GET, URL, callback=self.answer)

    def hold(self, transactions):
        self.rows += [
            (t.created_at, *row) for t, row in zip(transactions, rows_of(transactions), strict=True)
        ]

    def answer(self, request):
        from urllib.parse import parse_qs, urlparse

        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.queries.append(query)
        day = query["date"]
        before = datetime.fromisoformat(query["created_before"].replace("Z", "+00:00"))
        totals = reconciliation.totals(
            row[1:] for row in self.rows if row[0].date().isoformat() == day and row[0] < before
        )
        body = wire.reconciliation_day(
            day=day, created_before=before, totals=[t.as_dict() for t in totals.values()]
        )
        return 200, {}, json.dumps(body)


@pytest.fixture
def consumer():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeConsumer(mock)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_default_days_are_yesterday_and_today_utc():
    assert default_days(NOW) == [DAY, NOW.date()]


def test_both_sides_agreeing_is_matched_and_stored(
    consumer, settings, django_capture_on_commit_callbacks
):
    settings.CONSUMER_API_TOKEN = "tok"
    eur = [processed(NOW - timedelta(hours=20)), processed(NOW - timedelta(hours=13))]
    jpy = [processed(NOW - timedelta(hours=14), amount="100", currency="JPY", fee="1")]
    consumer.hold([*eur, *jpy])
    # not compared: failed and cancelled ones, whatever the consumer says of them
    TransactionFactory(status=Status.FAILED, created_at=NOW - timedelta(hours=15))
    TransactionFactory(status=Status.CANCELLED, created_at=NOW - timedelta(hours=15))
    before = sample("bankflow_producer_reconciliation_runs_total", outcome="matched")

    with django_capture_on_commit_callbacks(execute=True):
        run, results = reconciliation_run(days=[DAY], trigger="test", now=NOW)

    assert (run.outcome, run.matched, run.mismatched) == ("matched", 2, 0)
    assert [c.currency for c in results[0].comparisons] == ["EUR", "JPY"]
    stored = ReconciliationRun.objects.get(pk=run.pk)
    assert [(line.currency, line.matched, line.producer_count) for line in stored.lines.all()] == [
        ("EUR", True, 2),
        ("JPY", True, 1),
    ]
    assert stored.lines.get(currency="EUR").producer_amount == Decimal("20")
    assert consumer.queries == [
        {"date": DAY.isoformat(), "created_before": wire.iso_datetime(NOW - timedelta(seconds=300))}
    ]
    assert sample("bankflow_producer_reconciliation_runs_total", outcome="matched") == before + 1
    assert sample("bankflow_producer_reconciliation_pairs", result="mismatched") == 0
    assert sample("bankflow_producer_reconciliation_pairs", result="matched") == 2


def test_a_row_missing_on_one_side_is_named_exactly(consumer, django_capture_on_commit_callbacks):
    kept, lost = processed(NOW - timedelta(hours=20)), processed(NOW - timedelta(hours=19))
    extra = processed(NOW - timedelta(hours=18), currency="GBP")
    consumer.hold([kept, extra])
    # The consumer knows a transaction this side does not have (removed here in the test).
    consumer.hold([processed(NOW - timedelta(hours=17), currency="GBP")])
    ghost = consumer.rows[-1][1]
    from producer.transactions.models import Transaction

    Transaction.objects.filter(id=ghost).update(status=Status.DISPATCHED)

    with django_capture_on_commit_callbacks(execute=True):
        run, results = reconciliation_run(days=[DAY], trigger="test", now=NOW)

    assert (run.outcome, run.matched, run.mismatched) == ("mismatched", 0, 2)
    eur, gbp = results[0].comparisons
    assert (eur.only_ours, eur.only_theirs) == ([lost.id], [])
    assert (gbp.only_ours, gbp.only_theirs) == ([], [ghost])
    line = run.lines.get(currency="EUR")
    assert (line.producer_count, line.consumer_count) == (2, 1)
    assert line.only_producer == [str(lost.id)]
    assert run.lines.get(currency="GBP").only_consumer == [str(ghost)]
    assert sample("bankflow_producer_reconciliation_pairs", result="mismatched") == 2


def test_work_in_flight_is_left_out_on_both_sides(consumer, settings):
    settings.RECONCILIATION_SETTLE_SECONDS = 600
    settled = processed(NOW - timedelta(minutes=11))
    consumer.hold([settled])
    processed(NOW - timedelta(minutes=5))  # the consumer has not reported it yet: too recent
    run, results = reconciliation_run(days=[NOW.date()], trigger="test", now=NOW)
    assert run.outcome == "matched"
    assert results[0].comparisons[0].ours.ids == {settled.id}


def test_an_unreachable_consumer_is_an_error_run_not_a_match(settings):
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, URL, status=503)
        run, results = reconciliation_run(days=[DAY], trigger="test", now=NOW)
    assert run.outcome == "error"
    assert "HTTP 503" in run.error
    assert results == []
    assert ReconciliationRun.objects.get(pk=run.pk).outcome == "error"


def test_the_command_prints_a_line_per_day_and_currency_and_a_summary(consumer, monkeypatch):
    today = datetime.now(UTC)
    tx = processed(today - timedelta(hours=1))
    consumer.hold([tx])
    out = StringIO()
    call_command("reconcile", "--date", tx.created_at.date().isoformat(), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{tx.created_at.date().isoformat()} EUR matched count 1/1")
    assert lines[-1] == "reconciliation: 1 matched, 0 mismatched"
    assert ReconciliationRun.objects.get().trigger == "command:reconcile"


def test_the_command_exits_1_on_a_mismatch(consumer):
    tx = processed(datetime.now(UTC) - timedelta(hours=1))
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", "--date", tx.created_at.date().isoformat(), stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert "MISMATCHED count 1/0" in text
    assert f"only_producer {tx.id}" in text
    assert text.splitlines()[-1] == "reconciliation: 0 matched, 1 mismatched"


def test_the_command_defaults_to_yesterday_and_today(consumer):
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert [q["date"] for q in consumer.queries] == [d.isoformat() for d in default_days()]
    assert out.getvalue().splitlines()[-1] == "reconciliation: 0 matched, 0 mismatched"


def test_the_command_refuses_a_bad_date():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reconcile", "--date", "yesterday")


def test_the_beat_task_runs_it_hourly(consumer, settings):
    from producer.reconciliation.tasks import reconcile

    assert settings.CELERY_BEAT_SCHEDULE["reconcile"]["schedule"] == 3600.0
    assert reconcile() == {"outcome": "matched", "matched": 0, "mismatched": 0}
    assert ReconciliationRun.objects.get().trigger == "beat"


def test_the_command_fails_when_the_consumer_cannot_be_asked():
    from django.core.management import CommandError

    with responses.RequestsMock() as mock:
        mock.add(responses.GET, URL, body=requests.ConnectionError("refused"))
        with pytest.raises(CommandError, match="could not be asked: ConnectionError"):
            call_command("reconcile", stdout=StringIO())
    assert ReconciliationRun.objects.get().outcome == "error"


def test_a_starting_worker_exports_the_last_runs_figures():
    from django.utils import timezone

    from producer.reconciliation.services import reconciliation_metrics_publish

    reconciliation_metrics_publish()  # no run yet: nothing mismatched
    assert sample("bankflow_producer_reconciliation_pairs", result="mismatched") == 0
    ReconciliationRun.objects.create(
        created_before=timezone.now(), outcome="mismatched", matched=1, mismatched=3
    )
    ReconciliationRun.objects.create(created_before=timezone.now(), outcome="error")
    reconciliation_metrics_publish()
    assert sample("bankflow_producer_reconciliation_pairs", result="mismatched") == 3
    assert sample("bankflow_producer_reconciliation_pairs", result="matched") == 1
    assert sample("bankflow_producer_reconciliation_last_run_timestamp_seconds") > 0
