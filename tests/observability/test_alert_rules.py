"""The charts' alert rules, checked by promtool: valid, and each one unit-tested.

`promtool check rules` on every rendered PrometheusRule, and `promtool test rules` on the
unit tests in tests/observability/alerts/<chart>.test.yaml: every alert has a healthy shape
that stays quiet, and a fault that is quiet while its `for` runs, then fires with its labels
and annotations. That the `for` is what keeps those cases quiet is checked too: with every
`for` removed, exactly the pending cases must fail. A new alert without such tests fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploylib import CHARTS, known_metric_names, promql_metric_names
from tests.observability.promlib import ALERT_TESTS, alert_rules, seconds


def unit_tests(chart: str) -> dict[str, Any]:
    return yaml.safe_load((ALERT_TESTS / f"{chart}.test.yaml").read_text())


def write_rules(directory: Path, chart: str, groups: list[dict[str, Any]]) -> Path:
    """The rendered rules where the unit test file expects them, and the test file beside."""
    directory.mkdir(parents=True, exist_ok=True)
    tests = unit_tests(chart)
    (rule_file,) = tests["rule_files"]
    (directory / rule_file).write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    shutil.copy(ALERT_TESTS / f"{chart}.test.yaml", directory / f"{chart}.test.yaml")
    return directory / rule_file


def run_promtool(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("chart", CHARTS)
def test_promtool_checks_the_rendered_rules(promtool, rules_by_chart, chart, tmp_path):
    groups = rules_by_chart[chart]
    assert alert_rules(groups), f"{chart}: no alert rendered"
    rules = write_rules(tmp_path, chart, groups)
    done = run_promtool(promtool, "check", "rules", str(rules), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("chart", CHARTS)
def test_promtool_unit_tests_pass(promtool, rules_by_chart, chart, tmp_path):
    write_rules(tmp_path, chart, rules_by_chart[chart])
    done = run_promtool(promtool, "test", "rules", f"{chart}.test.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def cases(chart: str) -> list[tuple[str, str, float, bool]]:
    """(test group, alertname, eval time in seconds, fires?) of every alert_rule_test."""
    return [
        (group["name"], case["alertname"], seconds(case["eval_time"]), bool(case["exp_alerts"]))
        for group in unit_tests(chart)["tests"]
        for case in group.get("alert_rule_test", [])
    ]


def pending_cases(chart: str) -> set[tuple[str, str, float]]:
    """The quiet cases of a group in which the same alert fires later: its `for` running."""
    fires_at: dict[tuple[str, str], float] = {}
    for group, alert, at, fires in cases(chart):
        if fires:
            fires_at[(group, alert)] = min(at, fires_at.get((group, alert), at))
    return {
        (group, alert, at)
        for group, alert, at, fires in cases(chart)
        if not fires and (group, alert) in fires_at and at < fires_at[(group, alert)]
    }


@pytest.mark.parametrize("chart", CHARTS)
def test_every_alert_is_unit_tested_healthy_pending_and_firing(rules_by_chart, chart):
    by_alert: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for group, alert, _, fires in cases(chart):
        by_alert[alert][group].add("fires" if fires else "quiet")
    pending = {alert for _, alert, _ in pending_cases(chart)}
    missing = []
    for rule in alert_rules(rules_by_chart[chart]):
        name = rule["alert"]
        groups = by_alert.get(name, {})
        if not any(kinds == {"quiet"} for kinds in groups.values()):
            missing.append(f"{name}: no healthy shape (a test group where it stays quiet)")
        if not any("fires" in kinds for kinds in groups.values()):
            missing.append(f"{name}: no fault that makes it fire")
        if name not in pending:
            missing.append(f"{name}: no case quiet while its `for` runs, before it fires")
    unknown = set(by_alert) - {r["alert"] for r in alert_rules(rules_by_chart[chart])}
    assert not missing, "\n".join(missing)
    assert not unknown, f"unit tests for alerts the chart does not have: {sorted(unknown)}"


_FAILED_CASE = re.compile(r"name: (.+),\s*\n\s*alertname: (\w+), time: (\S+),")


@pytest.mark.parametrize("chart", CHARTS)
def test_without_their_for_exactly_the_pending_cases_fire(
    promtool, rules_by_chart, chart, tmp_path
):
    """Proves each pending case is a fault already present, held back only by `for`."""
    groups = [
        {**g, "rules": [{k: v for k, v in r.items() if k != "for"} for r in g["rules"]]}
        for g in rules_by_chart[chart]
    ]
    write_rules(tmp_path, chart, groups)
    done = run_promtool(promtool, "test", "rules", f"{chart}.test.yaml", cwd=tmp_path)
    failed = {
        (group, alert, seconds(at))
        for group, alert, at in _FAILED_CASE.findall(done.stdout + done.stderr)
    }
    assert done.returncode != 0 or not pending_cases(chart)
    assert failed == pending_cases(chart), done.stdout + done.stderr


@pytest.mark.parametrize("chart", CHARTS)
def test_unit_test_series_are_metrics_we_know(chart):
    """Synthetic series may only name documented metrics (docs/pipeline.md, docs/external-
    metrics.md); test_alerts_live.py checks them against a real scrape as well."""
    known = known_metric_names()
    unknown = {
        name
        for group in unit_tests(chart)["tests"]
        for series in group.get("input_series", [])
        for name in promql_metric_names(series["series"])
        if name not in known
    }
    assert not unknown, sorted(unknown)
