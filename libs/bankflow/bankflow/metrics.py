"""Prometheus plumbing for Celery workers (web processes use django-prometheus).

A worker serves ``/metrics`` on its own port (``METRICS_PORT``). Under the prefork pool the
tasks run in child processes, so when ``PROMETHEUS_MULTIPROC_DIR`` is set the server in the
parent aggregates every child's samples; the directory is wiped when the worker starts.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server


def multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def wipe_multiprocess_dir() -> None:
    """Remove what earlier processes left, keeping this process's own files
    (``<kind>_<pid>.db``): the metrics it created before (any import that ran first) keep
    writing to those, and in a pool without children (threads, solo) nothing else would."""
    path = multiprocess_dir()
    if path is None:
        return
    own = f"_{os.getpid()}.db"
    if path.exists():
        for child in path.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            elif not child.name.endswith(own):
                child.unlink()
    path.mkdir(parents=True, exist_ok=True)


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - pods listen on all
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, addr=addr, registry=registry)
    else:
        start_http_server(port, addr=addr, registry=REGISTRY)


def initialise(metric: Any, **label_values: Iterable[str]) -> None:
    """Export every combination of a small, fixed label set at zero.

    A labelled series appears only once it is first touched, so without this a dashboard's
    ``rate(x{outcome="dead"}[5m])`` or an alert's ratio has nothing to read until the first
    failure, exactly when it matters.
    """
    names = list(label_values)
    for combination in itertools.product(*label_values.values()):
        metric.labels(**dict(zip(names, combination, strict=True)))


class CeleryTaskMetrics:
    """``bankflow_<service>_celery_task_*``: runtime, failures and retries by task and queue."""

    def __init__(self, service: str) -> None:
        from prometheus_client import Counter, Histogram

        prefix = f"bankflow_{service}_celery_task"
        labels = ["task", "queue"]
        self.seconds = Histogram(
            f"{prefix}_seconds",
            "Celery task run time.",
            labels,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.failures = Counter(f"{prefix}_failures", "Celery tasks that raised.", labels)
        self.retries = Counter(f"{prefix}_retries", "Celery task retries.", labels)

    def initialise(self, routes: Iterable[tuple[str, str]]) -> None:
        """Zero series for every (task, queue) the worker can run."""
        for task, queue in routes:
            for metric in (self.failures, self.retries):
                metric.labels(task, queue)
            self.seconds.labels(task, queue)
