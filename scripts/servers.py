"""Private PostgreSQL, Redis and RabbitMQ servers on free ports, for the failover drill.

The drill stops and restarts backing servers; the machine's shared servers serve other
people's tests, so it never touches them. Each server here is a child of ours, with its
data under one folder (``.local/drill/<timestamp>/``), in a process group of its own,
so that stopping it stops it all. When we run as root, PostgreSQL and RabbitMQ run as
their own system users (PostgreSQL refuses root; RabbitMQ's cookie lives in its home).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _as_user(name: str | None) -> dict[str, Any]:
    """Popen options to run as a system user when we are root (else as ourselves)."""
    if name is None or os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _chown(path: Path, name: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user=name, group=pwd.getpwnam(name).pw_gid)


@dataclass
class Server:
    """One backing server: how to start it, and how to tell it is up."""

    name: str
    port: int
    argv: list[str]
    log: Path
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    stop_signal: int = signal.SIGTERM
    start_timeout: float = 60.0
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True) -> None:
        if self.running:
            return
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                start_new_session=True,  # its own group: stop() reaches every child
                **_as_user(self.user),
            )
        self.starts += 1
        if wait:
            self.wait_up()

    def wait_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}; see {self.log}"
                )
            if answers(self.port):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not up on {self.port} after {self.start_timeout}s")

    def stop(self, timeout: float = 30.0) -> None:
        """The server's own clean shutdown (SIGTERM / SIGINT), SIGKILL to the group after."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # what is left of the group (none if clean)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        deadline = time.monotonic() + 10
        while answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> None:
        self.stop()
        self.start()


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("postgres")
    if which:
        return Path(which).parent
    raise RuntimeError("no PostgreSQL binaries (/usr/lib/postgresql/*/bin) on this machine")


def rabbitmq_server() -> str:
    # The Debian wrapper /usr/sbin/rabbitmq-server re-runs itself through su when root;
    # the real script runs as the rabbitmq user directly (our Popen sets the user).
    for candidate in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("no rabbitmq-server on this machine")


def missing() -> list[str]:
    """The servers this machine cannot start privately (the drill needs all three)."""
    found = {
        "postgresql": bool(
            glob.glob("/usr/lib/postgresql/*/bin/postgres") or shutil.which("postgres")
        ),
        "redis-server": bool(shutil.which("redis-server")),
        "rabbitmq-server": bool(shutil.which("rabbitmq-server")),
    }
    return [name for name, ok in found.items() if not ok]


@dataclass
class PrivateServers:
    """PostgreSQL, Redis and RabbitMQ of our own under ``root``, on free ports."""

    root: Path
    tag: str
    servers: dict[str, Server] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    # --- the three servers ----------------------------------------------------------
    def _postgres(self) -> Server:
        bindir, data = postgres_bin(), self.root / "postgresql"
        data.mkdir(exist_ok=True)
        _chown(data, "postgres")
        user = "postgres" if os.geteuid() == 0 else None
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data / "data"), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, check=False, cwd=data,
            **_as_user(user),
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stdout}{init.stderr}")
        port = free_port()
        return Server(
            name="postgresql",
            port=port,
            argv=[
                str(bindir / "postgres"), "-D", str(data / "data"), "-p", str(port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=200",
            ],
            log=self.root / "postgresql.log",
            user=user,
            cwd=data,
            stop_signal=signal.SIGINT,  # "fast" shutdown: open sessions rolled back
        )  # fmt: skip

    def _redis(self) -> Server:
        port = free_port()
        return Server(
            name="redis",
            port=port,
            argv=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--daemonize", "no", "--dir", str(self.root)],
            log=self.root / "redis.log",
        )  # fmt: skip

    def _rabbitmq(self) -> Server:
        base = self.root / "rabbitmq"
        base.mkdir(exist_ok=True)
        port, dist = free_port(), free_port()
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"
        )
        (base / "enabled_plugins").write_text("[].\n")  # no management plugin: no 15672
        user = "rabbitmq" if os.geteuid() == 0 else None
        if user:
            for path in (base, base / "rabbitmq.conf", base / "enabled_plugins"):
                _chown(path, user)
        home = pwd.getpwnam(user).pw_dir if user else os.environ.get("HOME", str(base))
        return Server(
            name="rabbitmq",
            port=port,
            argv=[rabbitmq_server()],
            log=self.root / "rabbitmq.log",
            user=user,
            cwd=base,
            start_timeout=90.0,
            env={
                "HOME": home,  # the Erlang cookie
                "RABBITMQ_NODENAME": f"drill-{self.tag}@localhost",
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(port),
                "RABBITMQ_DIST_PORT": str(dist),
                "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(base / "log"),
                "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
                "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            },
        )

    def start(self, wait: bool = True) -> None:
        """All three, RabbitMQ first (slowest to boot: 10-30 s) without waiting for it, then
        the others; ``wait=False`` returns before RabbitMQ answers (``wait_up`` later)."""
        self.servers["rabbitmq"] = self._rabbitmq()
        self.servers["rabbitmq"].start(wait=False)
        self.servers["postgresql"] = self._postgres()
        self.servers["redis"] = self._redis()
        self.servers["postgresql"].start()
        self.servers["redis"].start()
        if wait:
            self.servers["rabbitmq"].wait_up()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def ensure_running(self) -> list[str]:
        """Start whatever is down (after a fault, whatever happened); the names started."""
        started = []
        for name, server in self.servers.items():
            if not server.running:
                server.start()
                started.append(name)
        return started

    def environ(self, prefix: str = "bankflow_drill") -> dict[str, str]:
        pg, rabbit, redis = (self.servers[n].port for n in ("postgresql", "rabbitmq", "redis"))
        return {
            "PRODUCER_DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg}/{prefix}_producer",
            "CONSUMER_DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg}/{prefix}_consumer",
            "CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{rabbit}//",
            "REDIS_URL": f"redis://127.0.0.1:{redis}/0",
        }
