#!/usr/bin/env python3
"""Run a command with the real PostgreSQL, RabbitMQ and Redis when they answer.

    python scripts/testenv.py SERVICE -- COMMAND...

For each backing server that answers on 127.0.0.1 it sets the service's variables to
test-only names (a database per service, a RabbitMQ vhost, a Redis db index); for each
that does not, it leaves the variable unset so the service falls back to its embedded
default. Variables already set in the environment win: ``PRODUCER_DATABASE_URL`` /
``CONSUMER_DATABASE_URL`` (or a plain ``DATABASE_URL``), ``CELERY_BROKER_URL``,
``REDIS_URL``. ``BANKFLOW_TEST_PREFIX`` (default ``bankflow_test``) names the databases and
the vhost, so that two checkouts can run their suites side by side.

``--print`` prints the chosen variables instead of running anything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode

HOST = "127.0.0.1"
REDIS_DB = {"producer": 14, "consumer": 15, "e2e": 13}


def answers(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_ready() -> bool:
    if not answers(5432):
        return False
    try:
        import psycopg

        with psycopg.connect(
            f"host={HOST} port=5432 user=postgres dbname=postgres", connect_timeout=3
        ):
            return True
    except Exception:
        return False


def redis_ready() -> bool:
    if not answers(6379):
        return False
    try:
        with socket.create_connection((HOST, 6379), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_vhost(vhost: str) -> bool:
    """Create the vhost (idempotent) with rabbitmqctl, else the management API."""
    ctl = shutil.which("rabbitmqctl")
    if ctl:
        try:
            listed = subprocess.run(
                [ctl, "-q", "list_vhosts"], capture_output=True, text=True, timeout=30, check=False
            )
            if listed.returncode == 0:
                if vhost not in listed.stdout.split():
                    subprocess.run([ctl, "-q", "add_vhost", vhost], timeout=30, check=True)
                subprocess.run(
                    [ctl, "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                    timeout=30,
                    check=True,
                )
                return True
        except (OSError, subprocess.SubprocessError):
            pass
    auth = {"Authorization": "Basic " + b64encode(b"guest:guest").decode()}
    for url, body in (
        (f"http://{HOST}:15672/api/vhosts/{vhost}", b""),
        (
            f"http://{HOST}:15672/api/permissions/{vhost}/guest",
            b'{"configure":".*","write":".*","read":".*"}',
        ),
    ):
        request = urllib.request.Request(  # noqa: S310 - a fixed local URL
            url, data=body, method="PUT", headers={**auth, "content-type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
        except (urllib.error.URLError, OSError):
            return False
    return True


def rabbitmq_ready(vhost: str) -> bool:
    return answers(5672) and ensure_vhost(vhost)


def chosen_env(service: str, environ: dict[str, str]) -> dict[str, str]:
    prefix = environ.get("BANKFLOW_TEST_PREFIX", "bankflow_test")
    chosen: dict[str, str] = {}
    override = environ.get(f"{service.upper()}_DATABASE_URL") or environ.get("DATABASE_URL")
    if override:
        chosen["DATABASE_URL"] = override
    elif service != "e2e" and postgres_ready():
        chosen["DATABASE_URL"] = f"postgres://postgres@{HOST}:5432/{prefix}_{service}"
    if environ.get("CELERY_BROKER_URL"):
        chosen["CELERY_BROKER_URL"] = environ["CELERY_BROKER_URL"]
    elif rabbitmq_ready(prefix):
        chosen["CELERY_BROKER_URL"] = f"amqp://guest:guest@{HOST}:5672/{prefix}"
    if environ.get("REDIS_URL"):
        chosen["REDIS_URL"] = environ["REDIS_URL"]
    elif redis_ready():
        chosen["REDIS_URL"] = f"redis://{HOST}:6379/{REDIS_DB.get(service, 13)}"
    return chosen


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in REDIS_DB:
        print(__doc__, file=sys.stderr)
        return 2
    service, rest = argv[0], argv[1:]
    chosen = chosen_env(service, dict(os.environ))
    summary = ", ".join(
        f"{k}={v.split('@')[-1] if '@' in v else v}" for k, v in sorted(chosen.items())
    )
    print(f"[testenv] {service}: {summary or 'embedded defaults only'}", file=sys.stderr)
    if rest == ["--print"]:
        for key, value in sorted(chosen.items()):
            print(f"{key}={value}")
        return 0
    if rest and rest[0] == "--":
        rest = rest[1:]
    env = {**os.environ, **chosen}
    return subprocess.call(rest, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
