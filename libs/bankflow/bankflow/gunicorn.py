"""Gunicorn settings shared by both services' ``gunicorn.conf.py``.

Sync workers (README, "Process model": gthread cost more CPU and a worse p99 here), their
number from ``WEB_CONCURRENCY``, a graceful timeout below the pod's termination grace period, JSON
logs through the same structlog formatter as Django, and Prometheus multiprocess
clean-up: the directory is wiped when the master starts and a dead worker is marked.
"""

from __future__ import annotations

import os
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

from bankflow.metrics import multiprocess_dir, wipe_multiprocess_dir


class Logger(GunicornLogger):
    """No access log: the correlation-id middleware writes one JSON line per request.

    Gunicorn formats every access line's atoms before its logger drops them (a logging
    config is set); in a profile that was 7 % of a request's time through gunicorn.
    """

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


def settings(service: str, default_port: int) -> dict[str, Any]:
    return {
        "wsgi_app": f"{service}.wsgi:application",
        "bind": os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', default_port)}"),
        "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "worker_class": "sync",
        "timeout": int(os.environ.get("GUNICORN_TIMEOUT", "30")),
        "graceful_timeout": int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20")),
        "keepalive": int(os.environ.get("GUNICORN_KEEPALIVE", "5")),
        "max_requests": int(os.environ.get("GUNICORN_MAX_REQUESTS", "0")),
        "max_requests_jitter": 100,
        "worker_tmp_dir": os.environ.get("GUNICORN_WORKER_TMP_DIR", "/tmp"),  # noqa: S108 - tmpfs in pods
        "accesslog": None,
        "logger_class": "bankflow.gunicorn.Logger",
        "logconfig_dict": logconfig(service),
        "on_starting": on_starting,
        "child_exit": child_exit,
    }


def logconfig(service: str) -> dict[str, Any]:
    """Django's structlog config, plus gunicorn's own logger: gunicorn gives it a plain-text
    handler before applying this dict, and naming the logger here replaces that handler."""
    from bankflow.logging import configure

    config = configure(
        service=service,
        level=os.environ.get("LOG_LEVEL", "INFO"),
        fmt=os.environ.get("LOG_FORMAT", "json"),
    )
    config["loggers"]["gunicorn.error"] = {"handlers": ["stdout"], "propagate": False}
    return config


def on_starting(_server: Any) -> None:
    wipe_multiprocess_dir()


def child_exit(_server: Any, worker: Any) -> None:
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
