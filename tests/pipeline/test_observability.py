"""What the dashboards and alerts query exists on the running processes, and one
transaction's correlation id is on every hop's logs with no secret anywhere.

Runs on the local stack after real traffic: every process that serves /metrics (both web
services and every worker pool) is scraped, every PromQL expression of the charts' dashboards
and alerts is parsed (promql-parser) and each selector of ours must match a scraped series.
Metrics of other exporters that the stack does not run (RabbitMQ's plugin, Prometheus's
`up`) are listed in docs/external-metrics.md and left out.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, transaction_body, wait_terminal
from tests.deploy.deploylib import CHARTS, ChartRenderer, dashboard_exprs, promql_selectors
from tests.observability.promlib import stack_endpoints

pytestmark = pytest.mark.local_stack

# Labels Prometheus attaches at scrape time (or Grafana variables stand for): not ours.
TARGET_LABELS = {"namespace", "job", "pod", "instance", "service", "container", "endpoint"}
OWN_PREFIXES = ("bankflow_", "django_")


def scrape(api_url: str, session) -> list[tuple[str, dict[str, str]]]:
    """(sample name, labels) of every sample /metrics serves, read by prometheus_client's
    own parser of the text format."""
    response = session.get(f"{api_url}/metrics", timeout=10)
    response.raise_for_status()
    return [
        (sample.name, dict(sample.labels))
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def satisfies(labels: dict[str, str], matcher) -> bool:
    value = labels.get(matcher.name, "")
    op = str(matcher.op)
    if op.endswith("NotEqual"):
        return value != matcher.value
    if op.endswith("NotRe"):
        return not re.fullmatch(matcher.value, value)
    if op.endswith("Re"):
        return bool(re.fullmatch(matcher.value, value))
    return value == matcher.value


@pytest.fixture(scope="module")
def queries(tmp_path_factory):
    """Every expression of every dashboard and alert, with where it comes from."""
    out = []
    for path in sorted(ROOT.glob("charts/*/dashboards/*.json")):
        out += [(f"{path.name}: {t}", e) for t, e in dashboard_exprs(json.loads(path.read_text()))]
    renderer = ChartRenderer(tmp_path_factory.mktemp("helm"))
    try:
        for chart in CHARTS:
            values = {"metrics": {"prometheusRule": {"enabled": True}}}
            for obj in renderer.render(chart, values):
                if obj.get("kind") == "PrometheusRule":
                    for group in obj["spec"]["groups"]:
                        out += [(f"alert {r['alert']}", r["expr"]) for r in group["rules"]]
    finally:
        renderer.close()
    assert any(where.startswith("alert ") for where, _ in out), "no alert rendered"
    return out


@pytest.fixture(scope="module")
def traffic(deployment):
    """A few transactions through the whole pipeline, one with a known correlation id."""
    correlation_id = f"obs-{uuid.uuid4().hex}"
    first = deployment.producer.post(
        "/api/v1/transactions/",
        json=transaction_body(),
        headers={"X-Correlation-ID": correlation_id},
    ).json()
    bulk = deployment.producer.post(
        "/api/v1/transactions/bulk/", json=[transaction_body() for _ in range(5)]
    ).json()
    for tx in [first, *bulk]:
        wait_terminal(deployment.producer, tx["id"])
    return {"correlation_id": correlation_id, "transaction": first}


@pytest.fixture(scope="module")
def scraped(deployment, traffic, local_stack):
    session = deployment.producer.session
    # every process of the stack that serves /metrics (web services, each worker pool)
    sources = [f"http://{e.address}" for e in stack_endpoints(local_stack)]
    assert len(sources) >= 4, sources
    return [s for url in sources for s in scrape(url, session)]


def test_every_own_metric_a_dashboard_or_alert_queries_is_exported(queries, scraped):
    exported = {name for name, _ in scraped}
    missing = {}
    for where, expr in queries:
        for name, _ in promql_selectors(expr):
            if name and name.startswith(OWN_PREFIXES) and name not in exported:
                missing.setdefault(name, where)
    assert not missing, f"queried but not exported by any process: {missing}"


def test_every_own_selector_matches_a_scraped_series(queries, scraped):
    """The queries' label matchers on our metrics (outcome="delivered", status="failed", …)
    select real series, before any such event: a renamed label or value breaks the panel,
    and this test."""
    unmatched = []
    for where, expr in queries:
        for name, matchers in promql_selectors(expr):
            if not name.startswith("bankflow_"):
                continue  # django-prometheus's labels (status="5xx") exist only once seen
            ours = [m for m in matchers if m.name not in TARGET_LABELS and m.name != "__name__"]
            candidates = [labels for n, labels in scraped if n == name]
            if candidates and not any(all(satisfies(c, m) for m in ours) for c in candidates):
                unmatched.append((where, name, [str(m) for m in ours]))
    assert not unmatched, unmatched


def read_logs(log_dir: Path) -> dict[str, list[dict]]:
    logs = {}
    for path in sorted(log_dir.glob("*.log")):
        lines = []
        for raw in path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
        logs[path.stem] = lines
    return logs


def test_one_correlation_id_is_on_every_hop(traffic, local_stack):
    logs = read_logs(local_stack.log_dir)
    cid, tx_id = traffic["correlation_id"], traffic["transaction"]["id"]
    for process in ("producer-web", "producer-worker", "consumer-web", "consumer-worker"):
        hits = [line for line in logs.get(process, []) if line.get("correlation_id") == cid]
        assert hits, f"{process} never logged correlation id {cid}"
    for process in ("producer-web", "consumer-worker"):
        assert any(
            line.get("correlation_id") == cid and line.get("transaction_id") == tx_id
            for line in logs[process]
        ), f"{process} has no line naming both the transaction and its correlation id"


def test_web_logs_are_json_lines_gunicorn_included(traffic, local_stack):
    for service in ("producer", "consumer"):
        path = local_stack.log_dir / f"{service}-web.log"
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        not_json = [line for line in lines if not line.startswith("{")]
        assert lines and not not_json, not_json[:5]


def test_logs_carry_no_secret(deployment, traffic, local_stack):
    tx = traffic["transaction"]
    secrets = [deployment.api_key, deployment.consumer_token, "whsec_", "local-only-insecure"]
    ibans = [tx["source_account"], tx["destination_account"]]
    for path in sorted(local_stack.log_dir.glob("*.log")):
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret and secret not in text, f"{path.name} contains a secret"
        for iban in ibans:
            assert iban not in text, f"{path.name} contains an unmasked IBAN"
