#!/usr/bin/env python3
"""Run a command with the real PostgreSQL, RabbitMQ and Redis when they answer.

    python -m scripts.testenv SERVICE -- COMMAND...

For each backing server that answers on 127.0.0.1 it sets the service's variables to
test-only names (a database per service, a RabbitMQ vhost, a Redis db index); for each
that does not, it leaves the variable unset so the service falls back to its embedded
default. Variables already set in the environment win: ``PRODUCER_DATABASE_URL`` /
``CONSUMER_DATABASE_URL`` (or a plain ``DATABASE_URL``), ``CELERY_BROKER_URL``,
``REDIS_URL``. ``BANKFLOW_TEST_PREFIX`` (default ``bankflow_test``) names the databases and
the vhost and ``BANKFLOW_TEST_REDIS_BASE`` (default 13) the first of three Redis db
indexes, so that two checkouts can run their suites side by side.

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
# Redis db indexes from BANKFLOW_TEST_REDIS_BASE (default 13): e2e, producer, consumer.
_REDIS_BASE = int(os.environ.get("BANKFLOW_TEST_REDIS_BASE", "13"))
REDIS_DB = {"e2e": _REDIS_BASE, "producer": _REDIS_BASE + 1, "consumer": _REDIS_BASE + 2}


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


def reset_backing_servers(environ: dict[str, str] | None = None) -> None:
    """Fresh databases, vhost and Redis db for a local stack under test.

    Only what this script names is touched (databases and vhost starting with the test
    prefix, the e2e Redis db), so a variable pointing at real data is never wiped.
    """
    import psycopg
    from psycopg import sql

    environ = dict(os.environ) if environ is None else environ
    prefix = environ.get("BANKFLOW_TEST_PREFIX", "bankflow_test")
    for name in ("PRODUCER_DATABASE_URL", "CONSUMER_DATABASE_URL"):
        server, _, database = environ.get(name, "").rpartition("/")
        if server.startswith(("postgres://", "postgresql://")) and database.startswith(prefix):
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                name_sql = sql.Identifier(database)
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name_sql))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(name_sql))
    vhost = environ.get("CELERY_BROKER_URL", "").rpartition("/")[2]
    if environ.get("CELERY_BROKER_URL", "").startswith("amqp://") and vhost.startswith(prefix):
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, check=False
        )
        ensure_vhost(vhost)
    if environ.get("REDIS_URL") == f"redis://{HOST}:6379/{REDIS_DB['e2e']}":
        import redis

        redis.Redis.from_url(environ["REDIS_URL"]).flushdb()


def chosen_env(service: str, environ: dict[str, str]) -> dict[str, str]:
    prefix = environ.get("BANKFLOW_TEST_PREFIX", "bankflow_test")
    chosen: dict[str, str] = {}
    pg = postgres_ready()
    if service == "e2e":
        # The e2e stack runs both services: each gets its own database.
        for svc in ("producer", "consumer"):
            name = f"{svc.upper()}_DATABASE_URL"
            if environ.get(name):
                chosen[name] = environ[name]
            elif pg:
                chosen[name] = f"postgres://postgres@{HOST}:5432/{prefix}_e2e_{svc}"
    else:
        override = environ.get(f"{service.upper()}_DATABASE_URL") or environ.get("DATABASE_URL")
        if override:
            chosen["DATABASE_URL"] = override
        elif pg:
            chosen["DATABASE_URL"] = f"postgres://postgres@{HOST}:5432/{prefix}_{service}"
    vhost = f"{prefix}_e2e" if service == "e2e" else prefix
    if environ.get("CELERY_BROKER_URL"):
        chosen["CELERY_BROKER_URL"] = environ["CELERY_BROKER_URL"]
    elif rabbitmq_ready(vhost):
        chosen["CELERY_BROKER_URL"] = f"amqp://guest:guest@{HOST}:5672/{vhost}"
    if environ.get("REDIS_URL"):
        chosen["REDIS_URL"] = environ["REDIS_URL"]
    elif redis_ready():
        chosen["REDIS_URL"] = f"redis://{HOST}:6379/{REDIS_DB[service]}"
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
