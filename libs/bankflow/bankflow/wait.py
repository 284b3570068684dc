"""Wait, bounded and logged, until the backing services answer.

    python -m bankflow.wait [--timeout 120] [--interval 2] database broker [redis]

The migration Job and every pod of the charts run this first (an init container), so the
order in which a cluster brings up PostgreSQL, RabbitMQ and the releases no longer
matters: a pod whose database is still starting waits here, saying so once per attempt,
instead of crash-looping or burning the Job's back-off. Each check is the one ``/readyz``
runs (``bankflow.health``), with the service's own settings (``DJANGO_SETTINGS_MODULE``).

Exit status: 0 when every named dependency answered; 1 when the timeout ran out (the
last error of each dependency still waiting is logged); 2 when the settings themselves
are wrong (a missing DATABASE_URL, say): waiting would not help. Error texts are logged
with any ``user:password@`` removed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DEPENDENCIES = ("database", "broker", "redis")
_CREDENTIALS = re.compile(r"(//)[^/@\s]*@")


def describe(exc: BaseException) -> str:
    """``ExcClass: message`` without credentials, on one line, at most 300 characters."""
    text = " ".join(str(exc).split())
    text = _CREDENTIALS.sub(r"\1***@", text)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


@dataclass
class Outcome:
    name: str
    ready: bool
    attempts: int
    seconds: float
    error: str = ""


def wait_for(
    checks: dict[str, Callable[[], None]],
    *,
    timeout: float,
    interval: float,
    log: Any,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    reset: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Poll every check until each has passed once or ``timeout`` seconds have gone by."""
    started = clock()
    deadline = started + timeout
    pending = dict(checks)
    attempts = dict.fromkeys(checks, 0)
    errors: dict[str, str] = {}
    done: list[Outcome] = []
    while True:
        for name, check in list(pending.items()):
            attempts[name] += 1
            try:
                check()
            except Exception as exc:
                errors[name] = describe(exc)
                if reset is not None:
                    reset(name)
                log.warning(
                    "waiting",
                    dependency=name,
                    attempt=attempts[name],
                    elapsed_seconds=round(clock() - started, 1),
                    timeout_seconds=timeout,
                    error=errors[name],
                )
            else:
                elapsed = round(clock() - started, 1)
                log.info("ready", dependency=name, attempts=attempts[name], seconds=elapsed)
                done.append(Outcome(name, True, attempts[name], elapsed))
                del pending[name]
        if not pending:
            return done
        if clock() + interval > deadline:
            elapsed = round(clock() - started, 1)
            for name in pending:
                log.error(
                    "gave up",
                    dependency=name,
                    attempts=attempts[name],
                    seconds=elapsed,
                    error=errors.get(name, ""),
                )
                done.append(Outcome(name, False, attempts[name], elapsed, errors.get(name, "")))
            return done
        sleep(interval)


def _django_checks(
    names: Sequence[str],
) -> tuple[dict[str, Callable[[], None]], Any, Callable[[str], None]]:
    import django
    from django.db import connections

    django.setup()  # the service's settings, and its JSON logging
    from bankflow import health
    from bankflow.logging import get_logger

    available = {
        "database": health.check_database,
        "broker": health.check_broker,
        "redis": health.check_redis,
    }
    checks = {name: available[name] for name in names}

    def reset(name: str) -> None:
        if name == "database":  # a half-open connection must not be reused
            connections["default"].close()

    return checks, get_logger("bankflow.wait"), reset


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bankflow.wait",
        description="Wait until the named backing services answer (bounded, logged).",
    )
    parser.add_argument("dependencies", nargs="+", choices=DEPENDENCIES)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds in all (120)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between tries (2)")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(args.dependencies))
    try:
        checks, log, reset = _django_checks(names)
    except Exception as exc:  # settings that no amount of waiting can fix
        print(f"bankflow.wait: cannot load the settings: {describe(exc)}", file=sys.stderr)
        return 2
    outcomes = wait_for(checks, timeout=args.timeout, interval=args.interval, log=log, reset=reset)
    return 0 if all(o.ready for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
