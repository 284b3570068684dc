#!/usr/bin/env python3
"""Run the whole bankflow stack as local processes (``make run``; the e2e tests use it too).

For each service: migrate, then gunicorn (web), its Celery worker pools (``POOLS``) and
Celery beat. The producer gets a demo client whose new API key is printed (and written to
--key-file); the consumer's console a local staff user whose new password is printed.
Every process inherits the environment, so DATABASE_URL-style variables point the stack
at real servers; ``PRODUCER_DATABASE_URL`` / ``CONSUMER_DATABASE_URL`` give each service
its own database. Ctrl-C (or SIGTERM) stops everything: SIGTERM to each process group,
then SIGKILL after the grace period.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from scripts.logview import format_line

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("producer", "consumer")
GRACE_SECONDS = 25
# One Celery worker per pool (README, "Process model"): (process name, queues, pool options).
# Processing is CPU work and gets processes; webhook deliveries wait on the producer and get
# threads of their own, so that no processing slot ever waits on a peer.
POOLS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "producer": [("producer-worker", "producer.dispatch", ())],
    "consumer": [
        ("consumer-worker", "consumer.process", ()),
        ("consumer-webhooks", "consumer.webhooks", ("--pool", "threads", "--concurrency", "8")),
    ],
}


def process_names() -> list[str]:
    """Every process the stack can run, by the name its lines are printed with."""
    return [
        name
        for service in SERVICES
        for name in (f"{service}-web", *(p[0] for p in POOLS[service]), f"{service}-beat")
    ]


@dataclass
class Stack:
    producer_port: int = 8000
    consumer_port: int = 8001
    producer_metrics_port: int = 9100
    consumer_metrics_port: int = 9101
    consumer_webhooks_metrics_port: int = 9102
    data_dir: Path = ROOT / ".local"
    web_workers: int = 2
    worker_concurrency: int = 2
    beat: bool = True
    quiet: bool = False
    log_dir: Path | None = None
    # On a terminal: every process's lines through scripts.logview (name | time level event)
    pretty: bool = False
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    specs: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)
    demo_key: str = ""
    console_user: str = ""
    console_password: str = ""

    # --- environment ----------------------------------------------------------------
    def url(self, service: str) -> str:
        port = self.producer_port if service == "producer" else self.consumer_port
        return f"http://127.0.0.1:{port}"

    def metrics_ports(self) -> dict[str, int]:
        """Each worker pool's /metrics port (web processes serve /metrics on their own)."""
        return {
            "producer-worker": self.producer_metrics_port,
            "consumer-worker": self.consumer_metrics_port,
            "consumer-webhooks": self.consumer_webhooks_metrics_port,
        }

    def describe(self) -> str:
        """The process model, in one line (the bench's report prints it)."""
        pools = ", ".join(
            f"{name} ({' '.join(options) or f'prefork x{self.worker_concurrency}'}: {queues})"
            for service in self.available()
            for name, queues, options in POOLS[service]
        )
        return f"gunicorn sync x{self.web_workers} per web service; {pools}; a beat each"

    def env(self, service: str, process: str) -> dict[str, str]:
        env = dict(os.environ)
        # Each process its own service's settings, whatever the caller imported (importing
        # a service package sets DJANGO_SETTINGS_MODULE for its Celery app).
        env["DJANGO_SETTINGS_MODULE"] = f"{service}.settings"
        env["BANKFLOW_LOCAL_DIR"] = str(self.data_dir)
        own_db = env.get(f"{service.upper()}_DATABASE_URL")
        if own_db:
            env["DATABASE_URL"] = own_db
        env.setdefault("CONSUMER_URL", self.url("consumer"))
        env.setdefault("PRODUCER_WEBHOOK_URL", f"{self.url('producer')}/api/v1/webhooks/consumer/")
        port = self.metrics_ports().get(process)
        if port:  # each worker pool serves /metrics on its known port
            env["METRICS_PORT"] = str(port)
        else:
            env.pop("METRICS_PORT", None)
        # pods each have their own /tmp: here each worker gets its own heartbeat file
        env["CELERY_HEARTBEAT_FILE"] = str(self.data_dir / "heartbeat" / process)
        env["WEB_CONCURRENCY"] = str(self.web_workers)
        env["CELERY_WORKER_CONCURRENCY"] = str(self.worker_concurrency)
        prom = self.data_dir / "prometheus" / f"{service}-{process}"
        prom.mkdir(parents=True, exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
        env["PYTHONUNBUFFERED"] = "1"
        # Bytecode is cached under the data folder, not in the tree: without it every
        # process (and each prefork child on its first lazy import) compiles from source.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.data_dir / "pycache")
        return env

    def available(self) -> list[str]:
        return [s for s in SERVICES if (ROOT / "services" / s / s / "settings.py").exists()]

    # --- processes ------------------------------------------------------------------
    def manage(self, service: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", service, *args],
            env=self.env(service, "manage"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"[stack] `{service} {' '.join(args)}` failed")
        return done.stdout

    def spawn(self, name: str, service: str, process: str, argv: list[str]) -> None:
        self.specs[name] = (service, process, argv)
        self.start_process(name)

    def start_process(self, name: str) -> None:
        service, process, argv = self.specs[name]
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{name}.log").open("ab")
        elif self.quiet:
            out = subprocess.DEVNULL  # type: ignore[assignment]
        elif self.pretty:
            out = subprocess.PIPE  # type: ignore[assignment]
        self.held.discard(name)
        proc = subprocess.Popen(
            argv,
            env=self.env(service, process),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        self.processes[name] = proc
        if proc.stdout is not None:
            width = max(len(n) for n in process_names())
            threading.Thread(
                target=_relay, args=(name, proc.stdout, width), daemon=True, name=f"log-{name}"
            ).start()

    def stop_process(
        self, name: str, sig: int = signal.SIGTERM, timeout: float = GRACE_SECONDS
    ) -> None:
        """Stop one process (a fault test); check_alive ignores it until start_process."""
        self.held.add(name)
        terminate([self.processes[name]], sig, timeout)

    def start(self) -> None:
        services = self.available()
        for service in services:
            ensure_database(self.env(service, "manage").get("DATABASE_URL", ""))
            self.manage(service, "migrate", "--noinput", "-v", "0")
        if "producer" in services:
            self.demo_key = (
                self.manage("producer", "create_client", "demo").strip().splitlines()[-1]
            )
        if "consumer" in services:  # local mode only: the command refuses anywhere else
            lines = self.manage("consumer", "console_user").strip().splitlines()
            self.console_user = lines[-2].removeprefix("console user: ")
            self.console_password = lines[-1]
        for service in services:
            port = self.producer_port if service == "producer" else self.consumer_port
            self.spawn(
                f"{service}-web",
                service,
                "web",
                [
                    sys.executable, "-m", "gunicorn",
                    "-c", str(ROOT / "services" / service / "gunicorn.conf.py"),
                    "--bind", f"127.0.0.1:{port}",
                ],
            )  # fmt: skip
            for name, queues, options in POOLS[service]:
                self.spawn(
                    name,
                    service,
                    name,
                    [
                        sys.executable, "-m", "celery", "--quiet", "-A", service, "worker",
                        "--without-mingle", "--without-gossip", "-n", f"{name}@%h",
                        "-Q", queues, *options, "--loglevel", "INFO",
                    ],
                )  # fmt: skip
            if self.beat:
                self.spawn(
                    f"{service}-beat",
                    service,
                    "beat",
                    [
                        sys.executable, "-m", "celery", "--quiet", "-A", service, "beat",
                        "--loglevel", "INFO",
                        "-s", str(self.data_dir / f"{service}-celerybeat-schedule"),
                    ],
                )  # fmt: skip
        self.wait_ready(services)

    def wait_ready(self, services: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(services)
        while pending and time.monotonic() < deadline:
            self.check_alive()
            for service in list(pending):
                try:
                    with urllib.request.urlopen(f"{self.url(service)}/readyz", timeout=2) as r:  # noqa: S310
                        if r.status == 200:
                            pending.discard(service)
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.2)
        if pending:
            self.stop()
            raise SystemExit(
                f"[stack] not ready after {timeout:.0f}s: {', '.join(sorted(pending))}"
            )

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if name not in self.held and proc.poll() is not None:
                self.stop()
                raise SystemExit(f"[stack] {name} exited with {proc.returncode}")

    def stop(self) -> None:
        terminate(list(self.processes.values()), signal.SIGTERM, GRACE_SECONDS)
        self.processes.clear()


_PRINT_LOCK = threading.Lock()


def _relay(name: str, stream: IO[bytes], width: int) -> None:
    """Print one process's lines, readable, until it closes its stdout."""
    for raw in iter(stream.readline, b""):
        line = format_line(name, raw.decode("utf-8", "replace"), width=width)
        with _PRINT_LOCK:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    stream.close()


def terminate(procs: list[subprocess.Popen[bytes]], sig: int, timeout: float) -> None:
    """Signal each process, wait up to ``timeout`` in all, then SIGKILL what is left.

    A graceful signal goes to the leader alone (gunicorn's master, Celery's main process
    stop their own children in order); SIGKILL goes to the whole group, like a crash.
    """
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if sig == signal.SIGKILL:
                    os.killpg(proc.pid, sig)
                else:
                    proc.send_signal(sig)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ensure_database(url: str) -> None:
    """Create a PostgreSQL database named by DATABASE_URL if it does not exist yet."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def wants_pretty(choice: str, stdout: IO[str]) -> bool:
    """--log-format: pretty on a terminal (auto), or as asked; JSON when piped or redirected."""
    return choice == "pretty" or (choice == "auto" and stdout.isatty())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producer-port", type=int, default=8000)
    parser.add_argument("--consumer-port", type=int, default=8001)
    parser.add_argument("--producer-metrics-port", type=int, default=9100)
    parser.add_argument("--consumer-metrics-port", type=int, default=9101)
    parser.add_argument("--consumer-webhooks-metrics-port", type=int, default=9102)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local")
    parser.add_argument("--key-file", type=Path, help="write the demo API key here")
    parser.add_argument("--log-dir", type=Path, help="one log file per process instead of stdout")
    parser.add_argument("--no-beat", action="store_true", help="no Celery beat processes")
    parser.add_argument(
        "--log-format",
        choices=("auto", "pretty", "json"),
        default="auto",
        help="pretty: `name | time level event key=val`; json: the lines as written; "
        "auto (default): pretty on a terminal, json otherwise",
    )
    args = parser.parse_args(argv)
    pretty = wants_pretty(args.log_format, sys.stdout)

    stack = Stack(
        producer_port=args.producer_port,
        consumer_port=args.consumer_port,
        producer_metrics_port=args.producer_metrics_port,
        consumer_metrics_port=args.consumer_metrics_port,
        consumer_webhooks_metrics_port=args.consumer_webhooks_metrics_port,
        data_dir=args.data_dir.resolve(),
        beat=not args.no_beat,
        log_dir=args.log_dir,
        pretty=pretty,
    )
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start()
    if args.key_file:
        args.key_file.write_text(stack.demo_key + "\n")
    services = stack.available()
    print("\nbankflow is running:")
    for service in services:
        print(f"  {service:<9} {stack.url(service)}  (docs {stack.url(service)}/api/docs/)")
    if stack.console_password:
        print(
            f"\nConsole: {stack.url('consumer')}/console/\n"
            f"  user {stack.console_user}  password {stack.console_password}"
        )
    if stack.demo_key:
        print(f"\nDemo API key (client 'demo'):\n  {stack.demo_key}")
        print(
            f"\nTry:\n  curl -s -H 'Authorization: Bearer {stack.demo_key}' "
            f"{stack.url('producer')}/api/v1/transactions/"
        )
    print("\nCtrl-C stops everything.", flush=True)
    try:
        while not stopping:
            stack.check_alive()
            time.sleep(0.5)
    finally:
        print("\n[stack] stopping…", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
