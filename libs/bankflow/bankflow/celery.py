"""Celery wiring shared by both services: the app factory and correlation-id headers.

The CELERY_* settings themselves are in ``bankflow.base_settings`` and each service's
settings.py (queues and routes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import structlog
from celery import Celery
from celery.signals import (
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_shutdown,
    worker_ready,
)

from bankflow.heartbeat import Heartbeat
from bankflow.logging import current_correlation_id, valid_correlation_id
from bankflow.metrics import (
    CeleryTaskMetrics,
    multiprocess_dir,
    start_metrics_server,
    wipe_multiprocess_dir,
)

# Not "correlation_id": Celery already uses that name for the AMQP property (the task id).
CORRELATION_TASK_HEADER = "bankflow_correlation_id"


_task_metrics: CeleryTaskMetrics | None = None
_started: dict[str, float] = {}


def make_app(service: str) -> Celery:
    global _task_metrics
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{service}.settings")
    if _task_metrics is None:
        _task_metrics = CeleryTaskMetrics(service)
    # DjangoTask adds delay_on_commit / apply_async_on_commit (publish after the commit)
    app = Celery(service, task_cls="celery.contrib.django.task:DjangoTask")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    app.steps["consumer"].add(Heartbeat)  # the worker's liveness probe (bankflow.heartbeat)
    return app


@before_task_publish.connect
def _add_correlation_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    cid = current_correlation_id()
    if headers is not None and cid and CORRELATION_TASK_HEADER not in headers:
        headers[CORRELATION_TASK_HEADER] = cid


@task_prerun.connect
def _bind_correlation(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    _close_old_connections(task)
    if task_id:
        _started[task_id] = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    request = getattr(task, "request", None)
    cid = valid_correlation_id(getattr(request, CORRELATION_TASK_HEADER, None))
    structlog.contextvars.bind_contextvars(
        task_id=task_id,
        task=getattr(task, "name", None),
        **({"correlation_id": cid} if cid else {}),
    )


@task_postrun.connect
def _unbind_correlation(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    _close_old_connections(task)
    started = _started.pop(task_id or "", None)
    if started is not None and _task_metrics is not None and task is not None:
        _task_metrics.seconds.labels(*_task_labels(task)).observe(time.perf_counter() - started)
    structlog.contextvars.clear_contextvars()


def _close_old_connections(task: Any) -> None:
    """Around each task, as Django does around each request: connections older than
    CONN_MAX_AGE, or broken by an error, are closed; the others are kept (and health-checked
    once before their next use). See CELERY_DB_REUSE_MAX in bankflow.base_settings."""
    from django.conf import settings

    if not settings.configured or (task is not None and getattr(task.request, "is_eager", False)):
        return  # no Django here, or inside a caller's request or test: not ours to close
    from django.db import close_old_connections

    close_old_connections()


def _task_labels(task: Any) -> tuple[str, str]:
    info = getattr(task.request, "delivery_info", None) or {}
    return task.name, str(info.get("routing_key") or "")


@task_failure.connect
def _count_failure(sender: Any = None, **_: Any) -> None:
    if _task_metrics is not None and sender is not None:
        _task_metrics.failures.labels(*_task_labels(sender)).inc()


@task_retry.connect
def _count_retry(sender: Any = None, **_: Any) -> None:
    if _task_metrics is not None and sender is not None:
        _task_metrics.retries.labels(*_task_labels(sender)).inc()


@worker_init.connect
def _serve_worker_metrics(sender: Any = None, **_: Any) -> None:
    """Each worker serves /metrics on METRICS_PORT when it is set (pods and `make run`)."""
    port = os.environ.get("METRICS_PORT")
    if not port:
        return
    wipe_multiprocess_dir()
    app = getattr(sender, "app", None)
    if _task_metrics is not None and app is not None:
        _task_metrics.initialise(task_routes(app))
    start_metrics_server(int(port))


def task_routes(app: Celery) -> list[tuple[str, str]]:
    """(task name, queue) for the app's own tasks, as the router sends them."""
    app.loader.import_default_modules()
    routes = []
    for name in sorted(app.tasks):
        if not name.startswith("celery."):
            queue = app.amqp.router.route({}, name).get("queue")
            routes.append((name, getattr(queue, "name", str(queue or ""))))
    return routes


@worker_process_shutdown.connect
def _mark_child_dead(pid: int | None = None, **_: Any) -> None:
    if multiprocess_dir() is not None and pid is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def measure_at_start(*measures: Callable[[], object]) -> Callable[..., None]:
    """Run each measure (a function that sets gauges) once when a worker is ready: the
    gauges are exported from the start, and right after a restart, not only once the first
    beat has come round (a live-only gauge of a process that died is gone until then)."""

    def run(**_: Any) -> None:
        from django.db import connection

        for measure in measures:
            try:
                measure()
            except Exception:  # the database may not answer yet: the next beat sets them
                structlog.get_logger("bankflow.celery").warning(
                    "measure_at_start_failed", measure=measure.__name__, exc_info=True
                )
        connection.close()  # the parent's connection is not the pool children's

    worker_ready.connect(run, weak=False)
    return run
