"""Every panel of every dashboard draws, read from a real Prometheus after real traffic.

The Prometheus (conftest.py) scrapes the local stack the way the charts' ServiceMonitors and
PodMonitors would, with the labels they add, plus RabbitMQ's plugin. After HEALTHY_SECONDS
of ordinary traffic, each query of each dashboard, with its variables substituted as Grafana
does, must return a finite value over the run, and each label its legend names must be on
every series it returns. New dashboards and panels are picked up from charts/*/dashboards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deploylib import promql_metric_names
from tests.observability.conftest import HEALTHY_SECONDS, SCRAPE_SECONDS
from tests.observability.pictures import render_dashboard, to_series
from tests.observability.promlib import ROOT, Grafana, finite_values

pytestmark = pytest.mark.local_stack

DASHBOARDS = sorted(ROOT.glob("charts/*/dashboards/*.json"))
OVERVIEW = ROOT / "charts" / "producer" / "dashboards" / "pipeline-overview.json"


def panels(items: list[dict[str, Any]]):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))


def queries():
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                if "expr" in target:
                    yield pytest.param(
                        path,
                        panel,
                        target,
                        id=f"{path.stem}/{panel.get('title')}/{target.get('refId', '?')}",
                    )


def run_query(live, window, dashboard, expr: str) -> tuple[str, list[dict[str, Any]]]:
    grafana = Grafana(scrape_seconds=SCRAPE_SECONDS)
    span = window.end - window.start
    variables = grafana.variables(dashboard, live.server)
    text = grafana.substitute(expr, variables, span)
    result = live.server.query_range(text, window.start, window.end, grafana.interval(span))
    return text, result


def needs_rabbitmq(expr: str) -> bool:
    return any(n.startswith("rabbitmq_") for n in promql_metric_names(expr))


def test_the_scrape_mirrors_the_charts_monitors(live):
    """Every process of the stack that serves /metrics is selected by a monitor of the
    charts, every monitor selects one, every target is up and carries the labels the
    Prometheus Operator would give it."""
    served = {e.process for e in live.endpoints}
    assert served, "the stack serves no /metrics?"
    assert served - live.plan_scraped == set(), (
        f"served but scraped by no ServiceMonitor/PodMonitor: {sorted(served - live.plan_scraped)}"
    )
    assert not live.unmatched_monitors, f"monitors selecting nothing: {live.unmatched_monitors}"
    targets = live.server.targets()
    down = [(t["labels"], t.get("lastError")) for t in targets if t["health"] != "up"]
    assert not down, down
    ours = [t["labels"] for t in targets if t["labels"].get("job") != "rabbitmq"]
    assert len(ours) == len(served)
    for labels in ours:
        assert {"namespace", "pod", "container", "job", "endpoint", "instance"} <= set(labels)
    assert {
        t["labels"]["pod"].rsplit("-local-", 1)[0] for t in targets if "pod" in t["labels"]
    } >= {
        "producer-web",
        "producer-worker",
        "consumer-web",
        "consumer-worker",
    }
    if live.rabbitmq.address:
        assert any(t["labels"].get("job") == "rabbitmq" for t in targets)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_variable_has_options(live, healthy_run, path: Path):
    dashboard = json.loads(path.read_text())
    variables = Grafana(scrape_seconds=SCRAPE_SECONDS).variables(dashboard, live.server)
    assert variables.get("namespace") == "bankflow", variables


@pytest.mark.parametrize(("path", "panel", "target"), list(queries()))
def test_every_dashboard_query_draws_after_real_traffic(live, healthy_run, path, panel, target):
    if needs_rabbitmq(target["expr"]):
        live.rabbitmq.require()
    dashboard = json.loads(path.read_text())
    expr, result = run_query(live, healthy_run, dashboard, target["expr"])
    assert finite_values(result), (
        f"{path.name} / {panel.get('title')}: No data after a real run\n  {expr}"
    )
    for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat") or ""):
        unlabelled = [s["metric"] for s in result if label not in s["metric"]]
        assert not unlabelled, (
            f"{path.name} / {panel.get('title')}: legend {{{{{label}}}}} but series without "
            f"it: {unlabelled}\n  {expr}"
        )


def test_the_pipeline_overview_picture_is_drawn_from_the_run(live, healthy_run, pictures_dir):
    """README's picture: the overview dashboard's own queries over the healthy run."""
    if not live.rabbitmq.address:
        live.rabbitmq.require()  # the picture shows the queues too
    dashboard = json.loads(OVERVIEW.read_text())
    series_by_panel = {}
    for panel in panels(dashboard["panels"]):
        drawn = []
        for target in panel.get("targets", []):
            _, result = run_query(live, healthy_run, dashboard, target["expr"])
            drawn += to_series(result, target.get("legendFormat"), healthy_run.start)
        series_by_panel[panel["id"]] = drawn
    path = pictures_dir / "pipeline-overview.png"
    render_dashboard(
        dashboard,
        series_by_panel,
        path,
        subtitle=f"{len(healthy_run.ids)} transactions created over {HEALTHY_SECONDS} s "
        "through the local stack (make test), scraped every second",
    )
    assert path.stat().st_size > 10_000
