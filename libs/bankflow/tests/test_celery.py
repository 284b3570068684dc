"""The correlation id crosses Celery in task headers and is bound while the task runs."""

import threading

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from structlog.contextvars import get_contextvars

import bankflow.celery  # noqa: F401 - connects the signal handlers under test
from bankflow.logging import correlation


@pytest.fixture
def app():
    app = Celery("bankflow_test", broker="memory://")
    app.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True)
    return app


def test_correlation_id_travels_in_task_headers(app):
    seen: dict[str, object] = {}
    done = threading.Event()

    @app.task(name="t.capture")
    def capture():
        seen.update(get_contextvars())
        done.set()

    with start_worker(app, perform_ping_check=False, pool="solo"):
        with correlation("corr-42"):
            capture.delay()
        assert done.wait(10)
    assert seen["correlation_id"] == "corr-42"
    assert seen["task"] == "t.capture"


def test_task_without_correlation_id_binds_none(app):
    seen: dict[str, object] = {}
    done = threading.Event()

    @app.task(name="t.capture2")
    def capture():
        seen.update(get_contextvars())
        done.set()

    with start_worker(app, perform_ping_check=False, pool="solo"):
        capture.delay()
        assert done.wait(10)
    assert "correlation_id" not in seen
