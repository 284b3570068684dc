"""Fixtures for the observability tests: the charts' monitoring objects, promtool, and a
real Prometheus scraping the session's local stack (tests/conftest.py) and RabbitMQ.

Prometheus and promtool are Debian's ``prometheus`` package (``scripts/ensure-test-tools.sh``,
run by ``make test``); the tests that need them skip with a message where they are missing.
RabbitMQ's ``rabbitmq_prometheus`` plugin is enabled on the machine's broker for its queue
metrics (said on the terminal); where it cannot be, the tests reading queue metrics skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import Deployment, transaction_body, wait_terminal
from tests.deploy.deploylib import CHARTS, ChartRenderer
from tests.observability.promlib import (
    MONITORING_ON,
    Prometheus,
    PrometheusError,
    rabbitmq_scrape_configs,
    rule_groups,
    scaled_rules,
    scrape_configs,
    stack_endpoints,
)

SCRAPE_SECONDS = 1
# Live alert evaluation: every `for` and range window of the rendered rules divided by
# this, so that a 5-15 minute alert shows in 5-15 seconds (test_alerts_live.py says why).
TIME_SCALE = 60
RABBITMQ_METRICS = "127.0.0.1:15692"


def say(config: pytest.Config, line: str) -> None:
    """A line on the terminal, between the dots, whatever pytest captures."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.ensure_newline()
        reporter.write_line(f"[observability] {line}")


@pytest.fixture(scope="session")
def chart_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each chart rendered with its monitors and alerts on (the `observability` profile)."""
    renderer = ChartRenderer(tmp_path_factory.mktemp("helm-monitoring"))
    try:
        return {chart: renderer.render(chart, MONITORING_ON) for chart in CHARTS}
    finally:
        renderer.close()


@pytest.fixture(scope="session")
def rules_by_chart(chart_objects) -> dict[str, list[dict[str, Any]]]:
    return {chart: rule_groups(objects) for chart, objects in chart_objects.items()}


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(
            "promtool not installed: scripts/ensure-test-tools.sh installs Debian's "
            "`prometheus` package (make test runs it; needs root and apt-get)"
        )
    return path


@dataclass
class RabbitMQMetrics:
    address: str | None
    vhost: str | None
    reason: str = ""

    def require(self) -> None:
        if self.address is None:
            pytest.skip(f"RabbitMQ's queue metrics unavailable: {self.reason}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="session")
def rabbitmq_metrics(pytestconfig: pytest.Config) -> RabbitMQMetrics:
    """RabbitMQ's Prometheus endpoint on the machine's broker, enabling the plugin if needed
    (online: the broker is neither stopped nor restarted)."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("amqp://"):
        return RabbitMQMetrics(None, None, "the stack runs on the embedded broker, not RabbitMQ")
    parts = urlsplit(broker)
    if parts.hostname not in {"127.0.0.1", "localhost"}:
        return RabbitMQMetrics(None, None, f"the broker {parts.hostname} is not this machine's")
    vhost = parts.path.lstrip("/") or "/"
    url = f"http://{RABBITMQ_METRICS}/metrics"
    if not _answers(url):
        tool = shutil.which("rabbitmq-plugins")
        if tool is None:
            return RabbitMQMetrics(None, None, "rabbitmq-plugins not found to enable it")
        say(pytestconfig, "enabling RabbitMQ's rabbitmq_prometheus plugin on the machine's broker")
        done = subprocess.run(
            [tool, "enable", "rabbitmq_prometheus"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        deadline = time.monotonic() + 30
        while done.returncode == 0 and not _answers(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not _answers(url):
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no answer"]
            return RabbitMQMetrics(
                None, None, f"`rabbitmq-plugins enable rabbitmq_prometheus` failed: {reason[0]}"
            )
    say(
        pytestconfig,
        f"RabbitMQ's rabbitmq_prometheus plugin is enabled on the machine's broker "
        f"(http://{RABBITMQ_METRICS}); scraping vhost {vhost} only",
    )
    return RabbitMQMetrics(RABBITMQ_METRICS, vhost)


@dataclass
class LivePrometheus:
    server: Prometheus
    plan_scraped: set[str]
    unmatched_monitors: list[str]
    endpoints: list[Any]
    rabbitmq: RabbitMQMetrics
    started_at: float
    groups: list[dict[str, Any]]  # the rendered rules, unscaled
    scaled: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="session")
def live(
    pytestconfig: pytest.Config,
    local_stack,
    chart_objects,
    rules_by_chart,
    rabbitmq_metrics: RabbitMQMetrics,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LivePrometheus]:
    """A Prometheus scraping the local stack as the charts' monitors would, evaluating the
    charts' alert rules with `for` and windows divided by TIME_SCALE."""
    if shutil.which("prometheus") is None:
        pytest.skip(
            "prometheus not installed: scripts/ensure-test-tools.sh installs Debian's "
            "`prometheus` package (make test runs it; needs root and apt-get)"
        )
    interval = f"{SCRAPE_SECONDS}s"
    endpoints = stack_endpoints(local_stack)
    objects = [o for chart in CHARTS for o in chart_objects[chart]]
    plan = scrape_configs(objects, endpoints, interval=interval)
    jobs = list(plan.configs)
    if rabbitmq_metrics.address:
        jobs += rabbitmq_scrape_configs(
            rabbitmq_metrics.vhost or "/", address=rabbitmq_metrics.address, interval=interval
        )
    groups = [g for chart in CHARTS for g in rules_by_chart[chart]]
    scaled = scaled_rules(groups, TIME_SCALE)
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": jobs,
    }
    workdir = tmp_path_factory.mktemp("prometheus")
    server = Prometheus(workdir, config, scaled)
    if shutil.which("promtool"):  # a config of ours that Prometheus refuses is our bug
        checked = subprocess.run(
            ["promtool", "check", "config", str(workdir / "prometheus.yml")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    try:
        server.start()
    except PrometheusError as exc:
        pytest.skip(f"Prometheus could not be started here: {exc}")
    say(pytestconfig, f"Prometheus on {server.url} (config and log in {workdir})")
    try:
        # every target scraped twice, so that rate() and deriv() have something to read
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            targets = server.targets()
            if targets and all(t["health"] == "up" for t in targets):
                break
            time.sleep(0.5)
        time.sleep(2 * SCRAPE_SECONDS)
        yield LivePrometheus(
            server=server,
            plan_scraped=plan.scraped,
            unmatched_monitors=plan.unmatched_monitors,
            endpoints=endpoints,
            rabbitmq=rabbitmq_metrics,
            started_at=time.time(),
            groups=groups,
            scaled=scaled,
        )
    finally:
        server.stop()


# ---- a real run through the pipeline --------------------------------------------------------
@dataclass
class Window:
    start: float
    end: float
    ids: list[str] = field(default_factory=list)


def healthy_traffic(deployment: Deployment, seconds: float) -> list[str]:
    """What clients do on a normal day, for ``seconds``: single and bulk creates of every
    type, reads, an idempotent replay, a cancel, a few client errors (400, 404)."""
    producer, ids = deployment.producer, []
    kinds = [
        {"type": "transfer"},
        {"type": "payment"},
        {"type": "deposit", "source_account": None},
        {"type": "withdrawal", "destination_account": None},
    ]
    deadline, tick = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        body = transaction_body(**kinds[tick % 4])
        key = {"Idempotency-Key": f"obs-{uuid.uuid4().hex}"}
        created = producer.post("/api/v1/transactions/", json=body, headers=key)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
        if tick % 5 == 0:
            replay = producer.post("/api/v1/transactions/", json=body, headers=key)
            assert replay.status_code in (200, 201), replay.text
            producer.get(f"/api/v1/transactions/{ids[-1]}/")
            producer.get("/api/v1/transactions/", params={"limit": 20})
        if tick % 10 == 3:
            bulk = producer.post(
                "/api/v1/transactions/bulk/", json=[transaction_body() for _ in range(25)]
            )
            assert bulk.status_code == 201, bulk.text
            ids += [tx["id"] for tx in bulk.json()]
        if tick % 10 == 7:
            draft = producer.post("/api/v1/transactions/", json=transaction_body()).json()
            producer.delete(f"/api/v1/transactions/{draft['id']}/")  # 204, or 409 if gone
            producer.post("/api/v1/transactions/", json={"amount": "-1"})  # 400
            producer.get(f"/api/v1/transactions/{uuid.uuid4()}/")  # 404
        tick += 1
        time.sleep(0.25)
    return ids


HEALTHY_SECONDS = 30


@pytest.fixture(scope="session")
def healthy_run(
    pytestconfig: pytest.Config, live: LivePrometheus, deployment: Deployment
) -> Window:
    """HEALTHY_SECONDS of ordinary traffic through the whole pipeline, every transaction
    waited for, then a few scrapes more."""
    start = time.time()
    ids = healthy_traffic(deployment, HEALTHY_SECONDS)
    for tx_id in ids:
        final = wait_terminal(deployment.producer, tx_id, timeout=120)
        assert final["status"] in {"processed", "cancelled"}, final
    time.sleep(8 * SCRAPE_SECONDS)  # the sweeps' gauges (every 5 s) and a few scrapes more
    window = Window(start, time.time(), ids)
    say(pytestconfig, f"healthy run: {len(ids)} transactions, {window.end - start:.0f} s")
    return window


@pytest.fixture(scope="session")
def pictures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pictures go: docs/img with BANKFLOW_UPDATE_PICTURES=1 (`make pictures`),
    else a scratch folder (they are drawn either way, so the drawing code is tested)."""
    from tests.observability.promlib import ROOT

    if os.environ.get("BANKFLOW_UPDATE_PICTURES") == "1":
        path = ROOT / "docs" / "img"
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("pictures")
