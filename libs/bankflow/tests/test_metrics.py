from prometheus_client import CollectorRegistry, Counter, generate_latest

from bankflow.metrics import initialise


def test_initialise_exports_every_label_combination_at_zero():
    registry = CollectorRegistry()
    counter = Counter("x_events", "events", ["status", "decision"], registry=registry)
    initialise(counter, status=("processed", "failed"), decision=("approved", "none"))
    text = generate_latest(registry).decode()
    for status in ("processed", "failed"):
        for decision in ("approved", "none"):
            assert f'x_events_total{{decision="{decision}",status="{status}"}} 0.0' in text


def test_the_wipe_keeps_this_process_metrics_and_drops_other_processes(tmp_path):
    """A worker without child processes (the threads pool) creates its metrics when its
    modules are imported, before worker_init wipes the directory: they must stay exported."""
    import os
    import subprocess
    import sys

    stale = tmp_path / "counter_999999.db"
    stale.write_bytes(b"left by a process of an earlier run")
    code = (
        "from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest\n"
        "from prometheus_client import multiprocess\n"
        "dead = Gauge('x_dead', 'dead', multiprocess_mode='livemostrecent')\n"
        "attempts = Counter('x_attempts', 'attempts')\n"
        "from bankflow.metrics import wipe_multiprocess_dir\n"
        "wipe_multiprocess_dir()\n"
        "dead.set(3)\n"
        "attempts.inc()\n"
        "registry = CollectorRegistry()\n"
        "multiprocess.MultiProcessCollector(registry)\n"
        "print(generate_latest(registry).decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert "x_dead 3.0" in done.stdout
    assert "x_attempts_total 1.0" in done.stdout
    assert not stale.exists()
