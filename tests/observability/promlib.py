"""A real Prometheus for the tests, configured the way the charts would have it.

- ``scrape_configs`` turns the charts' rendered ``ServiceMonitor`` / ``PodMonitor`` objects
  into the scrape jobs the Prometheus Operator would generate, with the same target labels
  (``namespace``, ``service``, ``pod``, ``container``, ``job``, ``endpoint``); each chart
  workload they select is matched to the local stack's process of the same service and
  component, whose address it scrapes instead of a pod IP.
- ``rabbitmq_scrape_configs`` takes RabbitMQ's job from the kind cluster's Prometheus values
  (``k8s/values/kube-prometheus-stack.yaml``) and points it at the machine's broker,
  filtered to the test's vhost (the broker here is shared; in a cluster it is ours alone).
- ``Prometheus`` runs ``prometheus`` on a free port with its own data directory.
- ``Grafana`` substitutes a dashboard's variables as Grafana does before it queries.
- ``scaled_rules`` shortens every ``for`` and range window of the rendered alert rules by
  one factor, so that a fault shows in seconds on the live stack (the real durations are
  covered by the promtool unit tests in ``tests/observability/alerts/``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import promql_parser
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERT_TESTS = Path(__file__).resolve().parent / "alerts"
# Alerts no fault of the local stack can cause within a test's time, with the reason: the
# promtool unit tests (test_alert_rules.py) cover them, and their runbook sections say so
# instead of showing a picture from a live fault.
UNIT_TESTED_ONLY: dict[str, str] = {
    "BankflowReconciliationMismatch": (
        "the reconciliation runs hourly and a mismatch needs a row removed from one "
        "service's database; tests/e2e/test_audit.py proves that against the local stack "
        "and the promtool unit tests prove the rule"
    ),
}
MONITORING_ON = {
    "metrics": {
        "serviceMonitor": {"enabled": True},
        "podMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    }
}
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"


# ---- what the local stack serves ---------------------------------------------------------
@dataclass(frozen=True)
class LocalEndpoint:
    """One process of the local stack that serves /metrics."""

    process: str  # the Stack's name for it, e.g. "consumer-webhooks"
    service: str  # app.kubernetes.io/name of the chart workloads that do its work
    web: bool  # a web process (matched to the chart's web component)
    queues: frozenset[str]  # a Celery worker's -Q (matched to the chart pool running them)
    address: str  # host:port


def celery_queues(argv: list[str]) -> frozenset[str]:
    """The queues of a Celery worker's command line (-Q a,b or --queues=a,b)."""
    for i, arg in enumerate(argv):
        if arg in {"-Q", "--queues"} and i + 1 < len(argv):
            return frozenset(argv[i + 1].split(","))
        if arg.startswith("--queues="):
            return frozenset(arg.split("=", 1)[1].split(","))
    return frozenset()


def stack_endpoints(stack: Any) -> list[LocalEndpoint]:
    """Every /metrics the local stack serves, read off its process table: web processes on
    their HTTP port (the contract), any other process on the METRICS_PORT it is given."""
    found = []
    for name, (service, process, argv) in sorted(stack.specs.items()):
        if process == "web":
            port = urlsplit(stack.url(service)).port
        else:
            port = stack.env(service, process).get("METRICS_PORT")
        if port:
            found.append(
                LocalEndpoint(
                    name, service, process == "web", celery_queues(argv), f"127.0.0.1:{port}"
                )
            )
    return found


# ---- the Prometheus Operator's view of the charts ------------------------------------------
def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions)."""
    if not _matches(selector.get("matchLabels") or {}, labels):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _pod_templates(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict]]:
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}:
            yield obj, obj["spec"]["template"]


def _container_port(template: dict[str, Any], port: str | int) -> str | None:
    """The name of the container exposing ``port`` (a port name or number)."""
    for container in template["spec"]["containers"]:
        for p in container.get("ports") or []:
            if port in (p.get("name"), p.get("containerPort")):
                return str(container["name"])
    return None


def _template_queues(template: dict[str, Any]) -> frozenset[str]:
    found: frozenset[str] = frozenset()
    for container in template["spec"]["containers"]:
        found |= celery_queues([*(container.get("command") or []), *(container.get("args") or [])])
    return found


def assign(objects: list[dict[str, Any]], endpoints: list[LocalEndpoint]) -> dict[str, str]:
    """LocalEndpoint.process -> the chart workload that does its work in a cluster: a web
    process the service's web component; a worker the pool whose queues cover its queues
    (the smallest such pool), so the local and the chart's pools need not be cut the same."""
    out = {}
    for e in endpoints:
        candidates = []
        for workload, template in _pod_templates(objects):
            labels = template["metadata"].get("labels", {})
            if labels.get(NAME) != e.service:
                continue
            if e.web and labels.get(COMPONENT) == "web":
                candidates.append((0, workload["metadata"]["name"]))
            queues = _template_queues(template)
            if e.queues and e.queues <= queues:
                candidates.append((len(queues), workload["metadata"]["name"]))
        if candidates:
            out[e.process] = min(candidates)[1]
    return out


def _local(
    endpoints: list[LocalEndpoint], assigned: dict[str, str], workload: dict[str, Any]
) -> list[LocalEndpoint]:
    return [e for e in endpoints if assigned.get(e.process) == workload["metadata"]["name"]]


def _pod_name(workload: dict[str, Any], index: int) -> str:
    # A Deployment's pods are "<deployment>-<replicaset hash>-<suffix>"; the charts' alerts
    # and dashboards select them with pod=~"<deployment>-.+".
    return f"{workload['metadata']['name']}-local-{index}"


@dataclass
class ScrapePlan:
    configs: list[dict[str, Any]]
    scraped: set[str]  # LocalEndpoint.process names some monitor scrapes
    unmatched_monitors: list[str]  # monitors that selected no local process


def scrape_configs(
    objects: list[dict[str, Any]], endpoints: list[LocalEndpoint], *, interval: str
) -> ScrapePlan:
    """The scrape jobs the Prometheus Operator generates for the monitors in ``objects``
    (every chart's rendered objects together), with the local processes as targets."""
    plan = ScrapePlan([], set(), [])
    assigned = assign(objects, endpoints)
    services = [o for o in objects if o["kind"] == "Service"]
    for monitor in objects:
        kind = monitor["kind"]
        if kind not in {"ServiceMonitor", "PodMonitor"}:
            continue
        meta, spec = monitor["metadata"], monitor["spec"]
        ns = meta["namespace"]
        namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [ns]
        selector = spec["selector"]
        endpoint_specs = (
            spec["endpoints"] if kind == "ServiceMonitor" else spec["podMetricsEndpoints"]
        )
        found_any = False
        for index, ep in enumerate(endpoint_specs):
            targets = []
            if kind == "ServiceMonitor":
                for svc in services:
                    if svc["metadata"]["namespace"] not in namespaces:
                        continue
                    if not _selects(selector, svc["metadata"].get("labels", {})):
                        continue
                    port = next(
                        (p for p in svc["spec"]["ports"] if p.get("name") == ep["port"]), None
                    )
                    if port is None:
                        continue
                    job = svc["metadata"].get("labels", {}).get(spec.get("jobLabel", ""), "")
                    for workload, template in _pod_templates(objects):
                        if not _matches(svc["spec"]["selector"], template["metadata"]["labels"]):
                            continue
                        container = _container_port(template, port.get("targetPort", port["port"]))
                        if container is None:
                            continue
                        for i, local in enumerate(_local(endpoints, assigned, workload)):
                            plan.scraped.add(local.process)
                            targets.append(
                                {
                                    "targets": [local.address],
                                    "labels": {
                                        "namespace": svc["metadata"]["namespace"],
                                        "service": svc["metadata"]["name"],
                                        "pod": _pod_name(workload, i),
                                        "container": container,
                                        "job": job or svc["metadata"]["name"],
                                        "endpoint": ep["port"],
                                    },
                                }
                            )
                job_name = f"serviceMonitor/{ns}/{meta['name']}/{index}"
            else:
                for workload, template in _pod_templates(objects):
                    if workload["metadata"]["namespace"] not in namespaces:
                        continue
                    if not _selects(selector, template["metadata"].get("labels", {})):
                        continue
                    container = _container_port(template, ep["port"])
                    if container is None:
                        continue
                    job = template["metadata"]["labels"].get(spec.get("jobLabel", ""), "")
                    for i, local in enumerate(_local(endpoints, assigned, workload)):
                        plan.scraped.add(local.process)
                        targets.append(
                            {
                                "targets": [local.address],
                                "labels": {
                                    "namespace": workload["metadata"]["namespace"],
                                    "pod": _pod_name(workload, i),
                                    "container": container,
                                    "job": job or f"{ns}/{meta['name']}",
                                    "endpoint": ep["port"],
                                },
                            }
                        )
                job_name = f"podMonitor/{ns}/{meta['name']}/{index}"
            found_any = found_any or bool(targets)
            plan.configs.append(
                {
                    "job_name": job_name,
                    "metrics_path": ep.get("path", "/metrics"),
                    "honor_labels": bool(ep.get("honorLabels", False)),
                    # The monitors say 30s; the tests scrape faster to see a fault in seconds.
                    "scrape_interval": interval,
                    "scrape_timeout": interval,
                    "static_configs": targets,
                }
            )
        if not found_any:
            plan.unmatched_monitors.append(f"{kind}/{meta['name']}")
    return plan


def rabbitmq_scrape_configs(vhost: str, *, address: str, interval: str) -> list[dict[str, Any]]:
    """RabbitMQ's scrape jobs of the kind cluster's Prometheus, on this machine's broker."""
    values = yaml.safe_load((ROOT / "k8s" / "values" / "kube-prometheus-stack.yaml").read_text())
    jobs = values["prometheus"]["prometheusSpec"]["additionalScrapeConfigs"]
    out = []
    for job in jobs:
        targets = [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        if not any("rabbitmq" in t for t in targets):
            continue
        job = copy.deepcopy(job)
        job["static_configs"] = [{"targets": [address]}]
        job.setdefault("params", {})["vhost"] = [vhost]
        job["scrape_interval"] = job["scrape_timeout"] = interval
        out.append(job)
    return out


# ---- alert rules -------------------------------------------------------------------------
def rule_groups(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule groups of every rendered PrometheusRule, as a Prometheus rule file has them."""
    return [g for o in objects if o["kind"] == "PrometheusRule" for g in o["spec"]["groups"]]


def alert_rules(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for g in groups for r in g["rules"] if "alert" in r]


_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def duration(value: float) -> str:
    ms = max(1, round(value * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


_RANGE = re.compile(r"\[(\d+(?:ms|s|m|h|d|w|y))\]")


def scale_expr(expr: str, factor: float) -> str:
    """Every range window of ``expr`` divided by ``factor``; subqueries and offsets refused
    (they would need scaling too: add that here before using them)."""
    if re.search(r"\[[^\]]*:[^\]]*\]|\boffset\b", expr):
        raise ValueError(f"scale_expr does not handle subqueries or offsets yet: {expr}")
    return _RANGE.sub(lambda m: f"[{duration(seconds(m.group(1)) / factor)}]", expr)


def scaled_rules(groups: list[dict[str, Any]], factor: float) -> list[dict[str, Any]]:
    out = copy.deepcopy(groups)
    for group in out:
        for rule in group["rules"]:
            rule["expr"] = scale_expr(rule["expr"], factor)
            if "for" in rule:
                rule["for"] = duration(seconds(rule["for"]) / factor)
    return out


def comparisons(expr: str) -> list[tuple[str, str, float | None]]:
    """(left-hand side, operator, threshold) of each filtering comparison in ``expr``: what an
    alert's picture plots against its threshold."""
    found: list[tuple[str, str, float | None]] = []

    def walk(node: Any) -> None:
        if node is None:
            return
        if isinstance(node, promql_parser.BinaryExpr):
            op = str(node.op)
            if op in {"==", "!=", ">", "<", ">=", "<="}:
                rhs = node.rhs
                threshold = rhs.val if isinstance(rhs, promql_parser.NumberLiteral) else None
                found.append((str(node.lhs), op, threshold))
                walk(node.lhs)
                return
            walk(node.lhs)
            walk(node.rhs)
            return
        for attr in ("expr", "param"):
            walk(getattr(node, attr, None))
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    walk(promql_parser.parse(expr))
    return found


# ---- Grafana ---------------------------------------------------------------------------------
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)")


@dataclass
class Grafana:
    """Grafana's substitution of a dashboard's variables for one time range and panel."""

    scrape_seconds: float  # the data source's "scrape interval" (Grafana's default 15s)
    max_data_points: int = 300  # about a half-width panel's pixels

    def interval(self, range_seconds: float) -> float:
        return max(self.scrape_seconds, math.ceil(range_seconds / self.max_data_points))

    def rate_interval(self, range_seconds: float) -> float:
        # Grafana: max($__interval + scrape interval, 4 * scrape interval)
        return max(self.interval(range_seconds) + self.scrape_seconds, 4 * self.scrape_seconds)

    def variables(self, dashboard: dict[str, Any], prometheus: Prometheus) -> dict[str, str]:
        """Each templating variable's value: a query variable's options from Prometheus
        (sorted as the dashboard asks), its saved current value if it is among them,
        else the first; a custom or constant variable's current value."""
        values: dict[str, str] = {}
        for var in dashboard.get("templating", {}).get("list", []):
            name, kind = var["name"], var.get("type")
            current = (var.get("current") or {}).get("value")
            if kind == "datasource":
                values[name] = "prometheus"
            elif kind == "query":
                query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
                options = prometheus.label_values_query(query)
                if var.get("sort") in (1, 3, 5):
                    options.sort()
                elif var.get("sort") in (2, 4, 6):
                    options.sort(reverse=True)
                if not options:
                    raise LookupError(f"variable {name}: {query} has no values")
                values[name] = current if current in options else options[0]
            elif kind in {"custom", "constant", "textbox", "interval"}:
                if current is None:
                    options = [o["value"] for o in var.get("options", [])] or [var.get("query")]
                    current = options[0]
                values[name] = str(current)
            else:
                raise LookupError(f"variable {name}: type {kind!r} not substituted here")
        return values

    def substitute(self, expr: str, variables: dict[str, str], range_seconds: float) -> str:
        builtins = {
            "__interval": duration(self.interval(range_seconds)),
            "__rate_interval": duration(self.rate_interval(range_seconds)),
            "__range": duration(range_seconds),
        }

        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2) or match.group(3)
            if name in builtins:
                return builtins[name]
            if name not in variables:
                raise LookupError(f"unknown variable ${name} in {expr}")
            return variables[name]

        return _VARIABLE.sub(value, expr)


# ---- Prometheus ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusError(RuntimeError):
    pass


class Prometheus:
    """``prometheus`` with a config of ours, its own data dir and a free port."""

    def __init__(self, workdir: Path, config: dict[str, Any], rules: list[dict[str, Any]]):
        self.workdir = workdir
        self.binary = shutil.which("prometheus")
        if self.binary is None:
            raise FileNotFoundError("prometheus")
        (workdir / "rules.yaml").write_text(yaml.safe_dump({"groups": rules}, sort_keys=False))
        config = {**config, "rule_files": [str(workdir / "rules.yaml")]}
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        log = (self.workdir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.binary),
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                "--storage.tsdb.retention.time=2h",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrometheusError(f"prometheus exited: {self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if self.session.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise PrometheusError(f"prometheus not ready after {timeout}s: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "prometheus.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def api(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        return list(self.api("query", **params)["result"])

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return list(self.api("query_range", query=expr, start=start, end=end, step=step)["result"])

    def label_values_query(self, query: str) -> list[str]:
        """Grafana's ``label_values(selector, label)`` / ``label_values(label)``."""
        match = re.fullmatch(r"\s*label_values\((?:(.*),\s*)?(\w+)\)\s*", query)
        if not match:
            raise LookupError(f"not a label_values() query: {query}")
        selector, label = match.groups()
        params = {"match[]": selector} if selector else {}
        return list(self.api(f"label/{label}/values", **params))

    def targets(self) -> list[dict[str, Any]]:
        return list(self.api("targets", state="active")["activeTargets"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])


def finite_values(result: list[dict[str, Any]]) -> list[float]:
    """Every finite sample value of a query_range or query result."""
    out = []
    for series in result:
        samples = series.get("values") or ([series["value"]] if "value" in series else [])
        for _, raw in samples:
            value = float(raw)
            if math.isfinite(value):
                out.append(value)
    return out
