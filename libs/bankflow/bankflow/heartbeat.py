"""Worker liveness: a file the Celery consumer touches while it runs, and its check.

A Kubernetes liveness probe must not fail because the broker is slow (docs/architecture.md,
"Kubernetes conventions"), so the probe never talks to RabbitMQ: it only asks how old a
file is. The file is touched by a bootstep of the worker's *consumer* blueprint from the
worker's own timer, i.e. from the event loop that also receives and dispatches tasks. A
hung event loop stops touching it and the pod is restarted; a busy pool or a slow broker
does not, because neither blocks the loop.

While the consumer reconnects after losing the broker, Celery stops its steps and the
loop is not running, so the file ages; a worker that stays disconnected longer than the
probe's window (``--max-age`` plus ``periodSeconds * failureThreshold``) is restarted,
which is harmless and gives it a fresh connection.

    CELERY_HEARTBEAT_FILE      where to touch (default /tmp/celery-heartbeat: an emptyDir)
    CELERY_HEARTBEAT_INTERVAL  seconds between touches (default 10)

The check, for the probe's ``exec`` command::

    python -m bankflow.heartbeat --max-age 60     # exit 0 when fresh, 1 when stale/missing
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from celery import bootsteps

DEFAULT_FILE = "/tmp/celery-heartbeat"  # noqa: S108 - an emptyDir in pods, private to the pod
DEFAULT_INTERVAL = 10.0


def heartbeat_file() -> Path:
    return Path(os.environ.get("CELERY_HEARTBEAT_FILE", DEFAULT_FILE))


def heartbeat_interval() -> float:
    return float(os.environ.get("CELERY_HEARTBEAT_INTERVAL", DEFAULT_INTERVAL))


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


class Heartbeat(bootsteps.StartStopStep):
    """Touches the heartbeat file every ``interval`` seconds while the consumer runs.

    Registered with ``app.steps["consumer"].add(Heartbeat)``; it starts after the Tasks
    step, so a fresh file means the worker is consuming from its queues.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.path = heartbeat_file()
        self.interval = heartbeat_interval()
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        touch(self.path)
        self.tref = parent.timer.call_repeatedly(self.interval, touch, (self.path,), priority=10)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)


def age(path: Path, *, now: float | None = None) -> float | None:
    """Seconds since the file was last touched, or None when it does not exist."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - mtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bankflow.heartbeat",
        description="Exit 0 when the Celery worker's heartbeat file is fresh, 1 otherwise.",
    )
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--file", type=Path, default=None, help="default $CELERY_HEARTBEAT_FILE")
    args = parser.parse_args(argv)
    path = args.file or heartbeat_file()
    seconds = age(path)
    if seconds is None:
        print(f"heartbeat: {path} does not exist", file=sys.stderr)
        return 1
    if seconds > args.max_age:
        print(f"heartbeat: {path} is {seconds:.0f}s old (max {args.max_age:.0f}s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
