"""The producer's Celery app: ``celery -A producer worker -Q producer.dispatch``."""

from typing import Any

from celery.signals import worker_init

from bankflow.celery import make_app
from bankflow.logging import get_logger

app = make_app("producer")


@worker_init.connect
def _serve_metrics(sender: Any = None, **_: Any) -> None:
    """The worker's own /metrics on METRICS_PORT (0 turns it off)."""
    from django.conf import settings

    from bankflow.metrics import start_metrics_server, wipe_multiprocess_dir

    port = getattr(settings, "METRICS_PORT", 0)
    if not port:
        return
    wipe_multiprocess_dir()
    try:
        start_metrics_server(port)
    except OSError as exc:  # another worker on this host already serves it
        get_logger("producer.celery").warning("metrics_port_busy", port=port, error=str(exc))
