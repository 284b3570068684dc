"""Celery wiring shared by both services: the app factory and correlation-id headers.

The CELERY_* settings themselves come from ``bankflow.conf.celery_settings``.
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from bankflow.heartbeat import Heartbeat
from bankflow.logging import current_correlation_id, valid_correlation_id

CORRELATION_TASK_HEADER = "correlation_id"


def make_app(service: str) -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{service}.settings")
    app = Celery(service)
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
    structlog.contextvars.clear_contextvars()
    request = getattr(task, "request", None)
    cid = valid_correlation_id(getattr(request, CORRELATION_TASK_HEADER, None))
    structlog.contextvars.bind_contextvars(
        task_id=task_id,
        task=getattr(task, "name", None),
        **({"correlation_id": cid} if cid else {}),
    )


@task_postrun.connect
def _unbind_correlation(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()
