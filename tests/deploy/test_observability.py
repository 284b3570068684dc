"""Dashboards and alerts: valid, shipped, and reading only metrics that exist."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy.deploylib import (
    CHARTS,
    ROOT,
    by_kind,
    dashboard_exprs,
    external_metric_names,
    known_metric_names,
    one,
    pipeline_metric_names,
    promql_metric_names,
)

DJANGO_RED = {
    "django_http_requests_total_by_view_transport_method_total",
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
}


def _dashboards(chart: str) -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text())
        for p in sorted((ROOT / "charts" / chart / "dashboards").glob("*.json"))
    }


def _alert_rules(rendered, chart):
    rule = one(rendered[(chart, "monitoring-on")], "PrometheusRule", chart)
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


# ---- the metric-name extractor itself ----------------------------------------------------
def test_promql_extractor_finds_metric_names_and_ignores_the_rest():
    expr = (
        'histogram_quantile(0.99, sum by (le, view) (rate(foo_seconds_bucket{job="x", a=~"b|c"}'
        "[$__rate_interval]))) / on() group_left sum(bar_total offset 5m) > 0.5 and absent(up)"
    )
    assert promql_metric_names(expr) == {"foo_seconds_bucket", "bar_total", "up"}
    assert promql_metric_names('max(bankflow_consumer_webhooks_dead{namespace="$namespace"})') == {
        "bankflow_consumer_webhooks_dead"
    }


def test_known_names_come_from_the_docs():
    pipeline = pipeline_metric_names()
    assert "bankflow_producer_transactions_created_total" in pipeline
    assert "bankflow_producer_end_to_end_seconds_bucket" in pipeline
    assert "bankflow_consumer_celery_task_retries_total" in pipeline
    assert "bankflow_producer_celery_task_seconds_count" in pipeline
    assert "bankflow_producer_transactions_created" not in pipeline
    external = external_metric_names()
    assert external >= DJANGO_RED
    assert "rabbitmq_detailed_queue_messages_ready" in external
    assert not any(n.startswith("bankflow_") for n in external)


# ---- dashboards ----------------------------------------------------------------------------
def test_each_chart_ships_its_dashboards_as_labelled_configmaps(rendered, chart):
    files = _dashboards(chart)
    assert files, f"charts/{chart}/dashboards is empty"
    objects = rendered[(chart, "chart-defaults")]
    maps = [
        c
        for c in by_kind(objects, "ConfigMap")
        if c["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    shipped = {key: json.loads(value) for c in maps for key, value in c["data"].items()}
    assert shipped == files


def test_overview_and_red_dashboards_exist():
    assert "pipeline-overview.json" in _dashboards("producer")
    for chart in CHARTS:
        red = _dashboards(chart)[f"{chart}-red.json"]
        names = set().union(*(promql_metric_names(e) for _, e in dashboard_exprs(red)))
        assert names >= DJANGO_RED, f"{chart}: RED needs rate, errors and duration"
        assert any(n.startswith(f"bankflow_{chart}_") for n in names)


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "charts").glob("*/dashboards/*.json")),
    ids=lambda p: f"{p.parent.parent.name}/{p.name}",
)
def test_dashboard_queries_use_only_known_metrics(path):
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"].startswith("bankflow")
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    known = known_metric_names()
    exprs = list(dashboard_exprs(dashboard))
    assert len(exprs) >= 5
    for title, expr in exprs:
        assert expr.count("(") == expr.count(")"), f"{title}: unbalanced parentheses"
        unknown = promql_metric_names(expr) - known
        assert not unknown, f"{path.name} / {title}: unknown metrics {sorted(unknown)}"


# ---- alerts --------------------------------------------------------------------------------
REQUIRED_ALERTS = {
    "producer": {
        "BankflowProducerFailureRatioHigh",
        "BankflowOutboxBacklogGrowing",
        "BankflowProducerNoThroughput",
        "BankflowProducerWorkerDown",
    },
    "consumer": {
        "BankflowConsumerFailureRatioHigh",
        "BankflowDeadWebhooks",
        "BankflowConsumerNoThroughput",
        "BankflowConsumerWorkerDown",
    },
}


def test_alerts_cover_the_pipeline_and_use_only_known_metrics(rendered, chart):
    rules = _alert_rules(rendered, chart)
    names = {r["alert"] for r in rules}
    assert names >= REQUIRED_ALERTS[chart]
    known = known_metric_names()
    for rule in rules:
        unknown = promql_metric_names(rule["expr"]) - known
        assert not unknown, f"{rule['alert']}: unknown metrics {sorted(unknown)}"
        assert rule["expr"].count("(") == rule["expr"].count(")")
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert re.fullmatch(r"\d+m", rule["for"])
        assert rule["annotations"]["summary"]


def test_every_alert_has_a_runbook_section(rendered, chart):
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    headings = {h.strip().lower() for h in re.findall(r"^## (.+)$", runbooks, re.MULTILINE)}
    for rule in _alert_rules(rendered, chart):
        anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"docs/runbooks.md has no section for {rule['alert']}"


def test_worker_down_alert_selects_the_worker_pods(rendered, chart):
    (rule,) = [r for r in _alert_rules(rendered, chart) if r["alert"].endswith("WorkerDown")]
    assert f'pod=~"{chart}-worker-.+"' in rule["expr"]
    worker = one(rendered[(chart, "monitoring-on")], "Deployment", f"{chart}-worker")
    queues = worker["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "|".join(queues[queues.index("-Q") + 1].split(",")) in rule["expr"]
