"""Helpers for the deployment checks: render the charts offline, walk pods, read PromQL.

Nothing here needs a cluster, Docker or the network: the charts are rendered with the
Helm SDK (helm-python), objects are validated with kubernetes-validate and the upstream
CRDs in ../shared/crds (when that folder exists).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import promql_parser
import yaml
from dockerfile_parse import DockerfileParser
from helm_python import _native

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
CHARTS = ("producer", "consumer")
CRDS_DIR = ROOT.parent / "shared" / "crds"
KUBERNETES_VERSION = "1.35.0"  # the kind node image in k8s/kind-config.yaml
RELEASE_NAMESPACE = "bankflow"

POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}

# What a cluster with KEDA and the Prometheus Operator serves beyond the built-in APIs
# (the observability profile's cluster); `helm template --api-versions` takes the same.
KEDA_APIS = ("keda.sh/v1alpha1/ScaledObject", "keda.sh/v1alpha1/TriggerAuthentication")
OPERATOR_APIS = (
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PodMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
)
FULL_CLUSTER = (*KEDA_APIS, *OPERATOR_APIS)


def value_sets(chart: str) -> list[str]:
    """The chart's own defaults plus each ci/*-values.yaml (what chart-testing lints)."""
    ci = (ROOT / "charts" / chart / "ci").glob("*.yaml")
    return ["chart-defaults", *sorted(p.name.removesuffix("-values.yaml") for p in ci)]


def load_values(chart: str, value_set: str) -> dict[str, Any] | None:
    if value_set == "chart-defaults":
        return None
    path = ROOT / "charts" / chart / "ci" / f"{value_set}-values.yaml"
    return yaml.safe_load(path.read_text()) or {}


class ChartRenderer:
    """Copies charts/ to a scratch folder once, resolves the library dependency there
    (never touching the worktree), and renders on demand."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch / "charts"
        shutil.copytree(ROOT / "charts", self.scratch)
        for chart in CHARTS:
            helm.dependency_update(self.scratch / chart)
        self._charts = {chart: helm.Chart.load(self.scratch / chart) for chart in CHARTS}

    def path(self, chart: str) -> Path:
        return self.scratch / chart

    def chart(self, chart: str) -> helm.Chart:
        return self._charts[chart]

    def render_files(
        self,
        chart: str,
        values: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        api_versions: tuple[str, ...] = FULL_CLUSTER,
    ) -> dict[str, str]:
        """``helm template`` with ``--api-versions`` for each of ``api_versions`` (the
        templates' ``.Capabilities.APIVersions``); () is a cluster with built-ins only."""
        opts: dict[str, Any] = {
            "name": name or chart,
            "namespace": RELEASE_NAMESPACE,
            "is_install": True,
            "kube_version": f"v{KUBERNETES_VERSION}",
        }
        if api_versions:
            # helm-python's Chart.render has no keyword for it yet; its C ABI takes it.
            opts["api_versions"] = list(api_versions)
        rendered = _native.call_string(
            "helm_render",
            self._charts[chart]._raw(),
            json.dumps(copy.deepcopy(values)) if values is not None else None,
            json.dumps(opts),
        )
        files: dict[str, str] = json.loads(rendered)
        return files

    def render(
        self,
        chart: str,
        values: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        api_versions: tuple[str, ...] = FULL_CLUSTER,
    ) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        files = self.render_files(chart, values, name=name, api_versions=api_versions)
        for path, text in sorted(files.items()):
            if path.endswith("NOTES.txt"):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    doc.setdefault("__source__", path)
                    objects.append(doc)
        return objects

    def close(self) -> None:
        for chart in self._charts.values():
            chart.close()


# ---- the image -------------------------------------------------------------------------
@dataclass
class Image:
    """The runtime stage of the Dockerfile for one SERVICE, as the image would hold it."""

    env: dict[str, str]
    workdir: str
    cmd: list[str]
    user: str
    copies: list[str]  # destinations of the runtime stage's COPY instructions


def image_config(service: str) -> Image:
    parser = DockerfileParser(str(DOCKERFILE), build_args={"SERVICE": service})
    stages = [i for i, ins in enumerate(parser.structure) if ins["instruction"] == "FROM"]
    runtime = parser.structure[stages[-1] :]

    def substitute(value: str) -> str:
        return value.replace("${SERVICE}", service).replace("$SERVICE", service)

    def last(name: str) -> str:
        return substitute([i["value"] for i in runtime if i["instruction"] == name][-1])

    env = dict(parser.envs)
    env["PATH"] = env["PATH"].rstrip(":") + ":$PATH"  # the base image's PATH follows
    copies = [substitute(i["value"]).split()[-1] for i in runtime if i["instruction"] == "COPY"]
    return Image(
        env=env,
        workdir=last("WORKDIR"),
        cmd=json.loads(last("CMD")),
        user=last("USER"),
        copies=copies,
    )


def collectstatic(service: str, static_root: Path, scratch: Path) -> None:
    """Run the Dockerfile's collectstatic RUN line (its variables, its command) here, the
    image's /app/static being ``static_root``."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    (run,) = [line for line in text.splitlines() if "collectstatic" in line and "RUN" in line]
    words = run.split("RUN", 1)[1].split("&&")[0].split()
    assignments = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=\S+", w))
    command = [w.strip('"') for w in words if not re.fullmatch(r"[A-Z_]+=\S+", w)]
    assert command[0] == "/app/.venv/bin/${SERVICE}" and "collectstatic" in command, command
    assert assignments["BANKFLOW_ENV"] == "local"
    assert assignments["DJANGO_STATIC_ROOT"] == "/app/static"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        **assignments,
        "BANKFLOW_LOCAL_DIR": str(scratch),
        "DJANGO_STATIC_ROOT": str(static_root),
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / service), *command[1:]],
        env=env,
        cwd=scratch.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def strip_source(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "__source__"}


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def worker_deployments(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every worker pool's Deployment (one per bankflow.workerPools entry)."""
    return [
        d
        for d in by_kind(objects, "Deployment")
        if (pod_spec(d) or {}).get("containers", [{}])[0].get("name") == "worker"
    ]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in POD_KINDS:
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return obj["spec"]
    return None


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def workloads(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            yield obj, spec


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_value(container: dict[str, Any], name: str) -> str | None:
    for item in container.get("env", []):
        if item["name"] == name:
            return item.get("value")
    return None


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# ---- CRDs --------------------------------------------------------------------------------
@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema, unknown fields refused."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRDS_DIR.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                schemas[(f"{group}/{version['name']}", kind)] = strict_schema(schema)
    return schemas


def strict_schema(schema: Any) -> Any:
    """Add additionalProperties: false wherever a schema lists properties and does not
    preserve unknown fields, the way the API server prunes (and `kubectl --validate=strict`
    refuses) unknown fields."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_schema(v) for k, v in schema.items()}
    if (
        "properties" in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


# ---- metrics and PromQL ----------------------------------------------------------------
# Grafana variables: a range variable becomes a duration, any other one a plain word
# (inside a label matcher it is a string already), so that the real PromQL parser reads
# the dashboard's query as Prometheus would after Grafana's substitution.
_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+")


def promql_selectors(expr: str) -> list[tuple[str, list[Any]]]:
    """(metric name, label matchers) of every vector selector, by promql-parser."""
    text = _VARIABLES.sub(lambda m: "5m" if "interval" in m.group(0) else "x", expr)
    found: list[tuple[str, list[Any]]] = []

    def walk(node: Any) -> None:
        if node is None:
            return
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name or "", list(node.matchers.matchers)))
            return
        for attr in ("expr", "lhs", "rhs", "param", "vector_selector"):
            walk(getattr(node, attr, None))
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    walk(promql_parser.parse(text))
    return found


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression reads."""
    return {name for name, _ in promql_selectors(expr) if name}


def _table_rows(markdown: str) -> Iterator[list[str]]:
    for line in markdown.splitlines():
        if line.startswith("|") and not set(line) <= set("|-: "):
            yield [cell.strip() for cell in line.strip().strip("|").split("|")]


HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def pipeline_metric_names() -> set[str]:
    """Metric names declared in docs/pipeline.md's metrics table, as Prometheus exports
    them (histograms with their series suffixes, <service> expanded)."""
    text = (ROOT / "docs" / "pipeline.md").read_text()
    section = text.split("## Metrics", 1)[1]
    names: set[str] = set()
    for cells in _table_rows(section):
        if len(cells) < 2:
            continue
        declared = re.findall(r"`([^`]+)`", cells[0])
        if not declared:
            continue
        full = []
        for name in declared:
            if name.startswith("…"):
                prefix = full[0].rsplit("_", 2)[0]  # bankflow_<service>_celery_task
                name = prefix + name.removeprefix("…")
            full.append(name)
        histogram = "histogram" in cells[1]
        for name in full:
            for service in ("producer", "consumer"):
                concrete = name.replace("<service>", service)
                names.add(concrete)
                if histogram or concrete.endswith("_seconds"):
                    names.update(concrete + s for s in HISTOGRAM_SUFFIXES)
    return names


def external_metric_names() -> set[str]:
    """docs/external-metrics.md: the metrics of other exporters that dashboards and alerts
    rely on (django-prometheus, RabbitMQ's plugin, Prometheus itself)."""
    names: set[str] = set()
    for cells in _table_rows((ROOT / "docs" / "external-metrics.md").read_text()):
        for name in re.findall(r"`([a-z_:][a-z0-9_:]*)`", cells[0]):
            names.add(name)
            if len(cells) > 1 and "histogram" in cells[1]:
                names.update(name + s for s in HISTOGRAM_SUFFIXES)
    return names


def known_metric_names() -> set[str]:
    return pipeline_metric_names() | external_metric_names()


def dashboard_exprs(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expr) for every query in a Grafana dashboard, rows included."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield panel.get("title", "?"), target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if variable.get("type") == "query" and query:
            text = query["query"] if isinstance(query, dict) else query
            inner = re.match(r"label_values\((.*),\s*\w+\)\s*$", text)
            if inner:
                yield f"variable {variable['name']}", inner.group(1)
