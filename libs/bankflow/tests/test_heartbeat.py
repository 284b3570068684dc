import os
import time

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from bankflow import heartbeat
from bankflow.celery import make_app


@pytest.fixture
def beat_file(tmp_path, monkeypatch):
    path = tmp_path / "hb" / "celery-heartbeat"
    monkeypatch.setenv("CELERY_HEARTBEAT_FILE", str(path))
    monkeypatch.setenv("CELERY_HEARTBEAT_INTERVAL", "0.1")
    return path


def test_check_passes_for_a_fresh_file_and_fails_for_stale_or_missing(tmp_path):
    path = tmp_path / "beat"
    assert heartbeat.main(["--file", str(path), "--max-age", "60"]) == 1  # missing

    path.touch()
    assert heartbeat.main(["--file", str(path), "--max-age", "60"]) == 0

    old = time.time() - 120
    os.utime(path, (old, old))
    assert heartbeat.main(["--file", str(path), "--max-age", "60"]) == 1


def test_check_reads_the_file_from_the_environment(beat_file):
    beat_file.parent.mkdir()
    beat_file.touch()
    assert heartbeat.main(["--max-age", "5"]) == 0


def test_make_app_registers_the_step_in_the_consumer_blueprint(monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "unused.settings")
    app = make_app("svc")
    assert heartbeat.Heartbeat in app.steps["consumer"]


def test_a_running_worker_keeps_touching_the_file_and_stops_when_it_stops(beat_file):
    # Given a real worker (in-memory broker) with the step in its consumer blueprint
    app = Celery("hb-test", broker="memory://", set_as_current=False)
    app.conf.broker_transport_options = {"polling_interval": 0.05}
    app.steps["consumer"].add(heartbeat.Heartbeat)

    with start_worker(app, perform_ping_check=False, shutdown_timeout=5):
        # When the consumer runs, the file appears and keeps being touched
        deadline = time.monotonic() + 10
        while not beat_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert beat_file.exists()
        first = beat_file.stat().st_mtime_ns
        time.sleep(0.5)
        assert beat_file.stat().st_mtime_ns > first
        assert heartbeat.main(["--max-age", "2"]) == 0

    # Then, once the worker stopped, nobody touches it any more
    stopped = beat_file.stat().st_mtime_ns
    time.sleep(0.4)
    assert beat_file.stat().st_mtime_ns == stopped
