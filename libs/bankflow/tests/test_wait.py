import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from bankflow import wait

ROOT = Path(__file__).resolve().parents[3]


class Log:
    def __init__(self):
        self.lines = []

    def _add(self, level, event, **kw):
        self.lines.append((level, event, kw))

    def info(self, event, **kw):
        self._add("info", event, **kw)

    def warning(self, event, **kw):
        self._add("warning", event, **kw)

    def error(self, event, **kw):
        self._add("error", event, **kw)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def flaky(failures):
    calls = {"n": 0}

    def check():
        calls["n"] += 1
        if calls["n"] <= failures:
            raise ConnectionRefusedError("amqp://bankflow:s3cret@rabbitmq:5672// refused")

    return check


def test_waits_logging_each_attempt_until_the_dependency_answers():
    log, clock = Log(), Clock()
    outcomes = wait.wait_for(
        {"broker": flaky(3), "database": flaky(0)},
        timeout=30, interval=2, log=log, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    assert [(o.name, o.ready, o.attempts) for o in outcomes] == [
        ("database", True, 1),
        ("broker", True, 4),
    ]
    waits = [kw for level, event, kw in log.lines if event == "waiting"]
    assert [w["attempt"] for w in waits] == [1, 2, 3]
    assert all(w["dependency"] == "broker" for w in waits)
    assert "s3cret" not in json.dumps(log.lines)
    assert waits[0]["error"].startswith("ConnectionRefusedError: amqp://***@rabbitmq")
    assert clock.now == 6


def test_gives_up_at_the_deadline_and_names_what_is_missing():
    log, clock = Log(), Clock()
    resets = []
    outcomes = wait.wait_for(
        {"database": flaky(1000)},
        timeout=10, interval=3, log=log, clock=clock, sleep=clock.sleep, reset=resets.append,
    )  # fmt: skip
    assert [(o.name, o.ready) for o in outcomes] == [("database", False)]
    assert clock.now <= 10
    assert resets == ["database"] * outcomes[0].attempts
    (gave_up,) = [kw for level, event, kw in log.lines if level == "error"]
    assert gave_up["dependency"] == "database" and "ConnectionRefusedError" in gave_up["error"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(tmp_path, env, *args):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    base.pop("CELERY_BROKER_URL", None)
    base.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bankflow.wait", *args],
        env={**base, "DJANGO_SETTINGS_MODULE": "producer.settings",
             "BANKFLOW_LOCAL_DIR": str(tmp_path), **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_command_passes_on_the_local_defaults(tmp_path):
    done = _run(tmp_path, {"BANKFLOW_ENV": "local"}, "database", "broker", "--timeout", "10")
    assert done.returncode == 0, done.stderr + done.stdout
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert {(e["event"], e["dependency"]) for e in events} == {
        ("ready", "database"),
        ("ready", "broker"),
    }


def test_the_command_gives_up_on_an_unreachable_database(tmp_path):
    port = _closed_port()
    done = _run(
        tmp_path,
        {
            "BANKFLOW_ENV": "production",
            "DJANGO_SECRET_KEY": "x" * 50,
            "DATABASE_URL": f"postgres://producer:pw-not-logged@127.0.0.1:{port}/producer",
            "CELERY_BROKER_URL": "filesystem://",
            "CONSUMER_API_TOKEN": "t",
            "WEBHOOK_SECRETS": "whsec_dGVzdA==",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        "database", "--timeout", "3", "--interval", "1",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr + done.stdout
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events].count("waiting") >= 2
    assert events[-1]["event"] == "gave up" and events[-1]["dependency"] == "database"
    assert "pw-not-logged" not in done.stdout + done.stderr


def test_the_command_refuses_settings_that_waiting_cannot_fix(tmp_path):
    done = _run(tmp_path, {"BANKFLOW_ENV": "production"}, "database", "--timeout", "30")
    assert done.returncode == 2
    assert "must be set" in done.stderr
