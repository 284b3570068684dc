#!/usr/bin/env python3
"""``make drill``: sustained load, one fault a minute, and proof that nothing was lost.

The drill never touches the machine's shared servers: it starts PostgreSQL, Redis and
RabbitMQ of its own on free ports (``scripts.servers``), under ``.local/drill/<timestamp>/``,
and the whole bankflow stack on them (``scripts.stack``), with two fault proxies of its own
(``scripts.faultproxy``) on two hops: producer worker -> consumer web (made slow) and
consumer webhooks -> producer web (made to answer 500).

Load: single POSTs paced at ``--rate`` per second (open loop) and a bulk request of
``--bulk-size`` every ``--bulk-every`` seconds, for ``--duration`` seconds. The first
``--warmup`` seconds are quiet: their end-to-end latency sets the normal p99. Then one
fault every ``--every`` seconds, in the order given by ``--faults``.

At the end, once the pipeline has drained, it proves (and exits 1 if any fails): every
accepted transaction terminal on both sides, no ledger leg twice, every currency summing
to zero, the two services reconciled, no webhook dead or left undelivered, and no client
error (5xx, refused connection, timeout) outside a fault's window. Every server stopped is
started again whatever happens, and everything the drill started is stopped at the end.

It writes report.md, results.json and timeline.png under ``.local/drill/<timestamp>/``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests

from scripts.faultproxy import FaultProxy
from scripts.loadlib import (
    CONSUMER_FINAL,
    FINAL,
    integrity,
    ledger_totals,
    make_ibans,
    new_client,
    percentile,
    reconcile,
    webhooks_undelivered,
)
from scripts.servers import PrivateServers, free_port
from scripts.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
# A fault's window runs from its start to its end (everything healed) plus this settle
# time: a client error in that window is the fault's; anywhere else it is a violation.
SETTLE_SECONDS = 15.0
WINDOW_SECONDS = 5.0  # latency windows for the recovery time


# --- faults ---------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    what: str
    inject: Callable[[Drill], None]
    heal: Callable[[Drill], None]
    hold: float = 0.0  # seconds between inject and heal


def _restart_process(name: str, service: str | None = None) -> Callable[[Drill], None]:
    def heal(drill: Drill) -> None:
        drill.stack.start_process(name)
        if service:
            drill.stack.wait_ready([service], timeout=90)

    return heal


def _stop_process(name: str, sig: int = signal.SIGTERM) -> Callable[[Drill], None]:
    def inject(drill: Drill) -> None:
        drill.stack.stop_process(name, sig=sig)

    return inject


def _stop_server(name: str) -> Callable[[Drill], None]:
    return lambda drill: drill.servers.servers[name].stop()


def _start_server(name: str) -> Callable[[Drill], None]:
    return lambda drill: drill.servers.servers[name].start()


def _nothing(_drill: Drill) -> None:
    return None


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "worker-kill",
            "consumer processing worker SIGKILLed (whole group, mid-batch), restarted at once",
            _stop_process("consumer-worker", signal.SIGKILL),
            _restart_process("consumer-worker"),
        ),
        Fault(
            "consumer-web",
            "consumer web stopped (SIGTERM) for 15 s, then started",
            _stop_process("consumer-web"),
            _restart_process("consumer-web", "consumer"),
            hold=15,
        ),
        Fault(
            "producer-web",
            "producer web restarted (SIGTERM, then started)",
            _stop_process("producer-web"),
            _restart_process("producer-web", "producer"),
        ),
        Fault(
            "rabbitmq",
            "RabbitMQ stopped for 20 s, then started",
            _stop_server("rabbitmq"),
            _start_server("rabbitmq"),
            hold=20,
        ),
        Fault(
            "postgresql",
            "PostgreSQL restarted (fast shutdown, then started)",
            _stop_server("postgresql"),
            _start_server("postgresql"),
        ),
        Fault(
            "redis",
            "Redis restarted (empty: no persistence)",
            _stop_server("redis"),
            _start_server("redis"),
        ),
        Fault(
            "webhook-500",
            "the results webhook receiver answers 500 for 20 s",
            lambda d: d.webhook_proxy.set_http_500(True),
            lambda d: d.webhook_proxy.set_http_500(False),
            hold=20,
        ),
        Fault(
            "slow-hop",
            "producer worker -> consumer web made slow: +300 ms per chunk, each way, for 20 s",
            lambda d: d.dispatch_proxy.set_latency(0.3),
            lambda d: d.dispatch_proxy.set_latency(0.0),
            hold=20,
        ),
    )
}
# The short drill in `make test`: a process crash mid-batch (redelivery, exactly-once
# ledger) and a database restart (every process's connections broken at once, the only
# fault clients are expected to see), both quick to heal, so that it fits in 2 minutes.
SHORT_FAULTS = ("worker-kill", "postgresql")


@dataclass
class FaultRun:
    name: str
    what: str
    start: float
    end: float = 0.0  # healed
    slot_end: float = 0.0  # the next fault's start, or the end of the load
    heal_error: str = ""
    client_errors: int = 0
    client_5xx: int = 0
    error_window: tuple[float, float] | None = None
    recovery_s: float | None = None
    recovered: bool = True
    backlog_at_heal: int | None = None
    backlog_peak: int | None = None
    backlog_at_slot_end: int | None = None
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    error_sample: list[str] = field(default_factory=list)


# --- what the clients saw -------------------------------------------------------------------


@dataclass
class Call:
    sent: float  # seconds since the drill's start
    seconds: float
    items: int
    status: int | None  # None: no answer (refused, reset, timed out)
    error: str = ""
    ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 201


class Drill:
    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        self.args = args
        self.out = out
        self.tag = out.name.lower()
        self.servers = PrivateServers(out / "servers", tag=self.tag)
        self.stack: Stack = None  # type: ignore[assignment]
        self.dispatch_proxy: FaultProxy = None  # type: ignore[assignment]
        self.webhook_proxy: FaultProxy = None  # type: ignore[assignment]
        self.t0 = time.monotonic()
        self.t0_wall = time.time()
        self.calls: list[Call] = []
        self.calls_lock = threading.Lock()
        self.backlog: list[tuple[float, int | None, int | None]] = []
        self.faults: list[FaultRun] = []
        self.events: list[tuple[float, str]] = []
        self.ibans = make_ibans(500)
        self.stopping = threading.Event()
        self.torn_down = False

    def now(self) -> float:
        return time.monotonic() - self.t0

    def event(self, text: str) -> None:
        self.events.append((round(self.now(), 2), text))
        print(f"[drill] {self.now():7.1f}s {text}", flush=True)

    # --- bring-up and tear-down -------------------------------------------------------
    def start(self) -> None:
        self.event("starting private PostgreSQL, Redis and RabbitMQ")
        self.servers.start(wait=False)  # the stack migrates while RabbitMQ boots
        (self.out / "servers.pids").write_text(
            "\n".join(str(s.proc.pid) for s in self.servers.servers.values() if s.proc) + "\n"
        )
        os.environ.update(self.servers.environ())
        os.environ.setdefault("CONSUMER_API_TOKEN", "local-only-consumer-token")
        producer_port, consumer_port = free_port(), free_port()
        self.dispatch_proxy = FaultProxy(free_port(), consumer_port).start()
        self.webhook_proxy = FaultProxy(free_port(), producer_port).start()
        os.environ["CONSUMER_URL"] = self.dispatch_proxy.url
        os.environ["PRODUCER_WEBHOOK_URL"] = f"{self.webhook_proxy.url}/api/v1/webhooks/consumer/"
        self.stack = Stack(
            producer_port=producer_port,
            consumer_port=consumer_port,
            producer_metrics_port=free_port(),
            consumer_metrics_port=free_port(),
            consumer_webhooks_metrics_port=free_port(),
            data_dir=self.out / "stack",
            log_dir=self.out / "logs",
        )
        self.event("starting the stack")
        self.stack.start()  # ready means the consumer reached its broker too
        self.servers.servers["rabbitmq"].wait_up()
        self.event(f"stack ready: {self.stack.describe()}")

    def teardown(self) -> None:
        if self.torn_down:
            return
        self.torn_down = True
        self.stopping.set()
        if self.stack is not None:
            with contextlib.suppress(Exception):
                self.stack.stop()
        for proxy in (self.dispatch_proxy, self.webhook_proxy):
            if proxy is not None:
                with contextlib.suppress(Exception):
                    proxy.close()
        self.servers.stop()
        print("[drill] private servers and the stack stopped", flush=True)

    def heal_everything(self) -> None:
        """Whatever a fault left down comes back: servers, held processes, proxies."""
        for name in self.servers.ensure_running():
            self.event(f"{name} was down: started again")
        if self.stack is not None:
            for name in list(self.stack.held):
                self.stack.start_process(name)
                self.event(f"{name} was held: started again")
        if self.webhook_proxy is not None:
            self.webhook_proxy.set_http_500(False)
        if self.dispatch_proxy is not None:
            self.dispatch_proxy.set_latency(0.0)

    def watch_processes(self) -> None:
        """A stack process that died on its own is a finding: noted, then started again."""
        for name, proc in list(self.stack.processes.items()):
            if name not in self.stack.held and proc.poll() is not None:
                self.event(f"UNEXPECTED: {name} exited with {proc.returncode}; started again")
                self.stack.start_process(name)

    # --- load ---------------------------------------------------------------------------
    def body(self, i: int) -> dict[str, str]:
        pool = self.ibans
        kinds = ("transfer", "payment", "deposit", "withdrawal")
        currencies = ("EUR", "EUR", "GBP", "JPY")
        kind, currency = kinds[i % 4], currencies[(i // 4) % 4]
        amount = str(100 + i % 5000) if currency == "JPY" else f"{10 + i % 500}.{i % 100:02d}"
        body = {
            "reference": f"DRILL-{i}",
            "type": kind,
            "amount": amount,
            "currency": currency,
            "description": "drill",
        }
        if kind != "deposit":
            body["source_account"] = pool[i % len(pool)]
        if kind != "withdrawal":
            body["destination_account"] = pool[(i * 7 + 1) % len(pool)]
        return body

    def load(self, key: str) -> None:
        url = self.stack.url("producer") + "/api/v1/transactions/"
        local = threading.local()
        counter = iter(range(10**9))
        counter_lock = threading.Lock()

        def next_index(n: int) -> int:
            with counter_lock:
                first = next(counter)
                for _ in range(n - 1):
                    next(counter)
            return first

        def session() -> requests.Session:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers["Authorization"] = f"Bearer {key}"
            return local.session

        def post(items: int) -> None:
            first = next_index(items)
            sent = self.now()
            started = time.perf_counter()
            call = Call(sent=sent, seconds=0.0, items=items, status=None)
            try:
                if items == 1:
                    reply = session().post(
                        url,
                        json=self.body(first),
                        headers={"Idempotency-Key": str(uuid.uuid4())},
                        timeout=self.args.client_timeout,
                    )
                else:
                    reply = session().post(
                        url + "bulk/",
                        json=[self.body(first + j) for j in range(items)],
                        timeout=self.args.client_timeout * 4,
                    )
                call.status = reply.status_code
                if reply.status_code == 201:
                    data = reply.json()
                    call.ids = [t["id"] for t in (data if isinstance(data, list) else [data])]
                else:
                    call.error = reply.text[:200]
            except requests.RequestException as exc:
                call.error = type(exc).__name__
                local.__dict__.pop("session", None)  # a fresh connection next time
            call.seconds = time.perf_counter() - started
            with self.calls_lock:
                self.calls.append(call)

        duration, rate = self.args.duration, self.args.rate
        with ThreadPoolExecutor(48) as pool:
            i, next_bulk = 0, self.args.bulk_every
            while not self.stopping.is_set():
                due = i / rate
                if due >= duration:
                    break
                delay = due - self.now()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(post, 1)
                if self.args.bulk_size and due >= next_bulk:
                    pool.submit(post, self.args.bulk_size)
                    next_bulk += self.args.bulk_every
                i += 1

    def watch_backlog(self) -> None:
        """Every second: transactions not final at the producer, and open at the consumer."""
        conns: dict[str, psycopg.Connection[Any] | None] = {"producer": None, "consumer": None}
        queries = {
            "producer": (
                "SELECT count(*) FROM transactions_transaction WHERE NOT (status = ANY(%s))",
                list(FINAL),
            ),
            "consumer": (
                "SELECT count(*) FROM intake_receivedtransaction WHERE NOT (status = ANY(%s))",
                list(CONSUMER_FINAL),
            ),
        }
        while not self.stopping.wait(1.0):
            counts: dict[str, int | None] = {}
            for side, (query, arg) in queries.items():
                try:
                    if conns[side] is None:
                        conns[side] = psycopg.connect(
                            os.environ[f"{side.upper()}_DATABASE_URL"],
                            autocommit=True,
                            connect_timeout=2,
                        )
                    row = conns[side].execute(query, (arg,)).fetchone()  # type: ignore[union-attr]
                    counts[side] = int(row[0]) if row else None
                except psycopg.Error:
                    counts[side] = None  # the database is down (a fault): a gap in the plot
                    with contextlib.suppress(Exception):
                        conns[side].close()  # type: ignore[union-attr]
                    conns[side] = None
            self.backlog.append((round(self.now(), 2), counts["producer"], counts["consumer"]))
        for conn in conns.values():
            if conn is not None:
                conn.close()

    # --- the run ------------------------------------------------------------------------
    def schedule(self) -> list[tuple[float, Fault]]:
        names = self.args.faults
        starts: list[float] = []
        t = self.args.warmup
        while t < self.args.duration - 1 and len(starts) < self.args.max_faults:
            starts.append(t)
            t += self.args.every
        return [(start, FAULTS[names[k % len(names)]]) for k, start in enumerate(starts)]

    def run(self) -> None:
        client_id, key = new_client(self.stack, f"drill-{self.tag}")
        self.client_id = client_id
        threads = [
            threading.Thread(target=self.load, args=(key,), name="load", daemon=True),
            threading.Thread(target=self.watch_backlog, name="backlog", daemon=True),
        ]
        started = time.monotonic()
        # times count from the load's start; the bring-up's events before it go negative
        self.events = [(round(t - (started - self.t0), 2), e) for t, e in self.events]
        self.t0, self.t0_wall = started, time.time()
        self.event(
            f"load: {self.args.rate}/s single + {self.args.bulk_size} every "
            f"{self.args.bulk_every:.0f}s for {self.args.duration:.0f}s"
        )
        for thread in threads:
            thread.start()
        for start, fault in self.schedule():
            while self.now() < start:
                self.watch_processes()
                time.sleep(0.2)
            if self.faults:
                self.faults[-1].slot_end = self.now()
            run = FaultRun(name=fault.name, what=fault.what, start=self.now())
            self.faults.append(run)
            self.event(f"fault {fault.name}: {fault.what}")
            try:
                fault.inject(self)
                held_until = run.start + fault.hold
                while self.now() < held_until:
                    time.sleep(0.2)
                fault.heal(self)
            except Exception as exc:
                run.heal_error = f"{type(exc).__name__}: {exc}"
                self.event(f"fault {fault.name}: {run.heal_error}")
            finally:
                self.heal_everything()
            run.end = self.now()
            self.event(f"fault {fault.name}: healed after {run.end - run.start:.1f}s")
        while threads[0].is_alive():
            self.watch_processes()
            threads[0].join(timeout=0.5)
        self.load_end = self.now()
        if self.faults:
            self.faults[-1].slot_end = self.load_end
        self.event(f"load done: {len(self.calls)} requests")
        self.drain()
        self.stopping.set()
        threads[1].join(timeout=10)

    def drain(self) -> None:
        deadline = self.now() + self.args.drain_timeout
        while self.now() < deadline:
            self.watch_processes()
            self.heal_everything()
            try:
                with (
                    psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True) as p,
                    psycopg.connect(os.environ["CONSUMER_DATABASE_URL"], autocommit=True) as c,
                ):
                    left = p.execute(
                        "SELECT count(*) FROM transactions_transaction"
                        " WHERE NOT (status = ANY(%s))",
                        (list(FINAL),),
                    ).fetchone()
                    open_ = c.execute(
                        "SELECT count(*) FROM intake_receivedtransaction"
                        " WHERE NOT (status = ANY(%s))",
                        (list(CONSUMER_FINAL),),
                    ).fetchone()
                webhooks = webhooks_undelivered(self.stack)
            except psycopg.Error:
                time.sleep(1)
                continue
            pending = sum(n for state, n in webhooks.items() if state != "dead")
            if (left and left[0]) == 0 and (open_ and open_[0]) == 0 and not pending:
                self.event(f"drained {self.now() - self.load_end:.1f}s after the load")
                return
            time.sleep(1)
        self.event(f"NOT drained after {self.args.drain_timeout:.0f}s")

    # --- the proof ----------------------------------------------------------------------
    def transactions(self) -> list[tuple[str, str, float, float]]:
        """(id, status, created, applied) of the drill's transactions, in drill seconds."""
        with psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True) as db:
            rows = db.execute(
                "SELECT id, status, created_at, updated_at FROM transactions_transaction"
                " WHERE client_id = %s",
                (self.client_id,),
            ).fetchall()
        return [
            (str(i), s, c.timestamp() - self.t0_wall, u.timestamp() - self.t0_wall)
            for i, s, c, u in rows
        ]

    def prove(self) -> tuple[dict[str, Any], list[str]]:
        checks = integrity(self.stack)
        webhooks = webhooks_undelivered(self.stack)
        recon = reconcile(self.stack)
        accepted = {i for call in self.calls if call.ok for i in call.ids}
        with (
            psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True) as p,
            psycopg.connect(os.environ["CONSUMER_DATABASE_URL"], autocommit=True) as c,
        ):
            at_producer: dict[str, str] = dict(
                p.execute("SELECT id::text, status FROM transactions_transaction").fetchall()
            )
            at_consumer: dict[str, str] = dict(
                c.execute("SELECT id::text, status FROM intake_receivedtransaction").fetchall()
            )
        not_final_producer = [i for i in accepted if at_producer.get(i) not in FINAL]
        not_final_consumer = [i for i in accepted if at_consumer.get(i) not in CONSUMER_FINAL]
        unexplained = [asdict(c) | {"ids": len(c.ids)} for c in self.calls if self.unexplained(c)]
        proof = {
            "accepted": len(accepted),
            "accepted_not_final_at_producer": len(not_final_producer),
            "accepted_not_final_at_consumer": len(not_final_consumer),
            **checks,
            "ledger_totals": ledger_totals(checks).get("totals"),
            "webhooks_not_delivered": webhooks,
            "reconciliation": recon,
            "client_errors_outside_faults": len(unexplained),
            "client_errors_outside_faults_sample": unexplained[:10],
            "unexpected_exits": [e for _, e in self.events if e.startswith("UNEXPECTED")],
        }
        violations = []
        if not accepted:
            violations.append("no transaction was accepted")
        if not_final_producer or not_final_consumer:
            violations.append(
                f"accepted but not final: {len(not_final_producer)} at the producer, "
                f"{len(not_final_consumer)} at the consumer"
            )
        for key, label in (
            ("producer_unfinished", "unfinished at the producer"),
            ("consumer_open", "open at the consumer"),
            ("lost", "sent but never received (lost)"),
            ("unknown_at_producer", "received but unknown to the producer"),
            ("ledger_legs_twice", "ledger legs posted twice"),
        ):
            if checks[key]:
                violations.append(f"{checks[key]} {label}")
        if not checks["ledger_balanced"]:
            violations.append(f"ledger not balanced: {checks['ledger_check']}")
        if not recon["matched"]:
            violations.append("reconciliation did not match")
        if webhooks:
            violations.append(f"webhooks not delivered: {webhooks}")
        if unexplained:
            violations.append(f"{len(unexplained)} client errors outside any fault's window")
        return proof, violations

    def fault_at(self, call: Call) -> FaultRun | None:
        """The fault in progress when the call was made: the latest one whose window
        (start to healed + settle time) the call overlaps."""
        for run in reversed(self.faults):
            if call.sent <= run.end + SETTLE_SECONDS and call.sent + call.seconds >= run.start:
                return run
        return None

    def unexplained(self, call: Call) -> bool:
        return not call.ok and self.fault_at(call) is None

    # --- what each fault cost -------------------------------------------------------------
    def singles(
        self, txs: list[tuple[str, str, float, float]]
    ) -> list[tuple[str, str, float, float]]:
        """The transactions of single POSTs: latency is measured on these alone, a bulk
        request's 200 items arriving at once would hide what a fault did to them."""
        ids = {i for call in self.calls if call.ok and call.items == 1 for i in call.ids}
        return [tx for tx in txs if tx[0] in ids]

    def measure(self, txs: list[tuple[str, str, float, float]]) -> dict[str, Any]:
        """Each fault's cost; ``txs``: the single POSTs' transactions (see ``singles``).
        Normal: created after the first seconds and applied before the first fault."""
        first_fault = self.faults[0].start if self.faults else self.args.warmup
        warm = [a - c for _, s, c, a in txs if s in FINAL and c >= 5 and a < first_fault]
        baseline_p99 = percentile(warm, 99)
        baseline_p50 = percentile(warm, 50)
        for call in self.calls:
            if not call.ok and (run := self.fault_at(call)) is not None:
                run.client_errors += 1
                run.client_5xx += int(call.status is not None and call.status >= 500)
                kind = str(call.status) if call.status is not None else call.error
                run.errors_by_kind[kind] = run.errors_by_kind.get(kind, 0) + 1
                if len(run.error_sample) < 3 and call.error not in run.error_sample:
                    run.error_sample.append(call.error)
                end = call.sent + call.seconds
                low, high = run.error_window or (call.sent, end)
                run.error_window = (min(low, call.sent), max(high, end))
        for run in self.faults:
            slot = [
                (c, a - c) for _, s, c, a in txs if s in FINAL and run.start <= c < run.slot_end
            ]
            windows: list[tuple[float, bool]] = []  # (window end, degraded)
            # The last seconds before the next fault are left out: their transactions meet
            # that fault in flight, and would be put down to this one.
            t, last_start = run.start, run.slot_end - 2 * WINDOW_SECONDS
            while t <= last_start:
                window = [lat for c, lat in slot if t <= c < t + WINDOW_SECONDS]
                if window:
                    windows.append((t + WINDOW_SECONDS, percentile(window, 50) > baseline_p99))
                t += WINDOW_SECONDS
            bad = [end for end, degraded in windows if degraded]
            last_bad = bad[-1] if bad else None
            run.recovery_s = 0.0 if last_bad is None else min(last_bad, run.slot_end) - run.start
            # recovered: a window after the last degraded one was back to normal
            run.recovered = last_bad is None or any(
                end > last_bad and not degraded for end, degraded in windows
            )
            in_slot = [p for t, p, _ in self.backlog if run.start <= t <= run.slot_end]
            known = [p for p in in_slot if p is not None]
            run.backlog_peak = max(known) if known else None
            after_heal = [(t, p) for t, p, _ in self.backlog if t >= run.end and p is not None]
            run.backlog_at_heal = after_heal[0][1] if after_heal else None
            until_next = [p for t, p in after_heal if t <= max(run.slot_end, run.end + 1)]
            run.backlog_at_slot_end = until_next[-1] if until_next else run.backlog_at_heal
        return {
            "warmup_transactions": len(warm),
            "latency_p50_ms": baseline_p50 * 1000,
            "latency_p99_ms": baseline_p99 * 1000,
        }


# --- the report -----------------------------------------------------------------------------


def plot(drill: Drill, txs: list[tuple[str, str, float, float]], baseline: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rate, ax_lat, ax_back) = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True)
    accepted: dict[int, int] = defaultdict(int)
    errors: dict[int, int] = defaultdict(int)
    for call in drill.calls:
        (accepted if call.ok else errors)[int(call.sent)] += call.items if call.ok else 1
    applied: dict[int, int] = defaultdict(int)
    for _, s, _, a in txs:
        if s in FINAL:
            applied[int(a)] += 1
    end = int(max([drill.now(), *(a for *_, a in txs)]))
    xs = list(range(end + 1))
    ax_rate.plot(xs, [accepted.get(x, 0) for x in xs], lw=0.8, label="accepted / s")
    ax_rate.plot(xs, [applied.get(x, 0) for x in xs], lw=0.8, label="results applied / s")
    ax_rate.bar(xs, [errors.get(x, 0) for x in xs], color="red", label="client errors / s")
    ax_rate.set_yscale("symlog")
    ax_rate.set_ylabel("per second")
    ax_rate.legend(loc="upper right", fontsize=8)
    by_second: dict[int, list[float]] = defaultdict(list)
    for _, s, c, a in drill.singles(txs):
        if s in FINAL:
            by_second[int(c)].append(a - c)
    seconds = sorted(by_second)
    ax_lat.plot(
        seconds, [percentile(by_second[x], 50) for x in seconds], lw=0.8, label="single POSTs p50"
    )
    ax_lat.plot(seconds, [max(by_second[x]) for x in seconds], lw=0.8, label="single POSTs max")
    singles = {tx[0] for tx in drill.singles(txs)}
    bulk: dict[int, list[float]] = defaultdict(list)
    for i, s, c, a in txs:
        if s in FINAL and i not in singles:
            bulk[int(c)].append(a - c)
    ax_lat.scatter(
        sorted(bulk), [percentile(bulk[x], 50) for x in sorted(bulk)], s=12, color="purple",
        label="bulk request p50", zorder=3,
    )  # fmt: skip
    ax_lat.axhline(baseline["latency_p99_ms"] / 1000, color="grey", ls="--", label="normal p99")
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("end to end (s), by creation")
    ax_lat.legend(loc="upper right", fontsize=8)
    ax_back.plot(
        [t for t, p, _ in drill.backlog],
        [p if p is not None else float("nan") for _, p, _ in drill.backlog],
        label="not final at the producer",
    )
    ax_back.plot(
        [t for t, _, c in drill.backlog],
        [c if c is not None else float("nan") for *_, c in drill.backlog],
        label="open at the consumer",
    )
    ax_back.set_ylabel("backlog")
    ax_back.set_xlabel("seconds since the load started")
    ax_back.legend(loc="upper right", fontsize=8)
    for ax in (ax_rate, ax_lat, ax_back):
        for run in drill.faults:
            ax.axvspan(run.start, max(run.end, run.start + 1), color="orange", alpha=0.3)
        ax.grid(True, alpha=0.3)
    for run in drill.faults:
        ax_rate.annotate(
            run.name, (run.start, 1), xycoords=("data", "axes fraction"), fontsize=7,
            rotation=90, va="top", ha="right",
        )  # fmt: skip
    fig.tight_layout()
    fig.savefig(drill.out / "timeline.png", dpi=100)
    plt.close(fig)


def report(
    drill: Drill,
    setup: dict[str, Any],
    baseline: dict[str, Any],
    proof: dict[str, Any],
    violations: list[str],
) -> str:
    calls = drill.calls
    offered = sum(c.items for c in calls)
    accepted = sum(c.items for c in calls if c.ok)
    lines = [
        f"# make drill, {setup['at']}",
        "",
        f"{setup['duration']:.0f} s of load ({setup['rate']:g}/s single POSTs + "
        f"{setup['bulk_size']} in one bulk request every {setup['bulk_every']:.0f} s), "
        f"{setup['warmup']:.0f} s warm-up, then a fault every {setup['every']:.0f} s. "
        f"Private PostgreSQL, Redis and RabbitMQ; {setup['cores']} cores; "
        f"{setup['processes']}.",
        "",
        f"Offered {offered} transactions in {len(calls)} requests, accepted {accepted}. "
        f"Normal end-to-end latency (warm-up, {baseline['warmup_transactions']} transactions):"
        f" p50 {baseline['latency_p50_ms']:.0f} ms, p99 {baseline['latency_p99_ms']:.0f} ms"
        " (single POSTs).",
        "",
        "| fault | what | healed in | client errors | error window | latency back"
        " under normal p99 | backlog peak | left at heal | left at next fault |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in drill.faults:
        window = (
            f"{run.error_window[1] - run.error_window[0]:.1f} s (t={run.error_window[0]:.0f}"
            f"-{run.error_window[1]:.0f})"
            if run.error_window
            else "none"
        )
        recovery = (
            f"{run.recovery_s:.0f} s" if run.recovered else f">= {run.recovery_s:.0f} s (not yet)"
        )
        kinds = ", ".join(f"{k} x{n}" for k, n in sorted(run.errors_by_kind.items()))
        errors = f"{run.client_errors} ({kinds})" if kinds else "0"
        lines.append(
            f"| {run.name} (t={run.start:.0f}) | {run.what} | {run.end - run.start:.1f} s"
            f"{' (' + run.heal_error + ')' if run.heal_error else ''} | {errors} | {window} | "
            f"{recovery} | {run.backlog_peak} | "
            f"{run.backlog_at_heal} | {run.backlog_at_slot_end} |"
        )
    recon = proof["reconciliation"]
    lines += [
        "",
        "Client errors are POSTs not answered 201 (5xx, refused or reset connections, "
        f"timeouts after {setup['client_timeout']:.0f} s). Latency recovery: the end of the "
        f"last {WINDOW_SECONDS:.0f}-second window (by creation time) after the fault whose "
        "median end-to-end latency (single POSTs) was above the normal p99, counted from the "
        f"fault's start (the last {WINDOW_SECONDS:.0f} s before the next fault left out: "
        "their transactions meet it in flight).",
        "",
        "## What it proves",
        "",
        f"**{'PASSED' if not violations else 'FAILED: ' + '; '.join(violations)}**",
        "",
        f"- accepted transactions: {proof['accepted']}; not final at the producer "
        f"{proof['accepted_not_final_at_producer']}, at the consumer "
        f"{proof['accepted_not_final_at_consumer']}",
        f"- lost (sent, never received): {proof['lost']}; received but unknown to the producer: "
        f"{proof['unknown_at_producer']}",
        f"- ledger legs posted twice: {proof['ledger_legs_twice']}; ledger "
        f"{'balanced' if proof['ledger_balanced'] else 'NOT balanced'}, per currency: "
        f"{proof['ledger_totals']}",
        f"- reconciliation ({recon['by']}): {'matched' if recon['matched'] else 'NOT matched'}",
        f"- webhooks not delivered: {proof['webhooks_not_delivered'] or 'none'}",
        f"- client errors outside a fault's window (+{SETTLE_SECONDS:.0f} s settle): "
        f"{proof['client_errors_outside_faults']}",
        f"- processes that died on their own: {proof['unexpected_exits'] or 'none'}",
        "",
        "![timeline](timeline.png)",
        "",
    ]
    text = "\n".join(lines)
    (drill.out / "report.md").write_text(text)
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (600)")
    parser.add_argument("--warmup", type=float, default=60, help="quiet seconds first (60)")
    parser.add_argument("--every", type=float, default=60, help="seconds between faults (60)")
    parser.add_argument("--rate", type=float, default=15, help="single POSTs per second (15)")
    parser.add_argument("--bulk-size", type=int, default=200, help="per bulk request (200)")
    parser.add_argument("--bulk-every", type=float, default=30, help="seconds (30)")
    parser.add_argument(
        "--faults",
        type=lambda s: [f.strip() for f in s.split(",") if f.strip()],
        default=list(FAULTS),
        help=f"comma-separated, in order, cycled ({','.join(FAULTS)})",
    )
    parser.add_argument("--short", action="store_true", help="the 2-minute drill of make test")
    parser.add_argument("--max-faults", type=int, default=100)
    parser.add_argument("--drain-timeout", type=float, default=300, help="seconds (300)")
    parser.add_argument("--client-timeout", type=float, default=15, help="seconds (15)")
    parser.add_argument("--out", type=Path, help="folder (.local/drill/<timestamp>)")
    args = parser.parse_args(argv)
    if args.short:
        args.duration, args.warmup, args.every = 120, 30, 45
        args.faults, args.drain_timeout = list(SHORT_FAULTS), 150
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {', '.join(FAULTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    out = (args.out or ROOT / ".local" / "drill" / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    drill = Drill(args, out)

    def on_signal(signum: int, _frame: object) -> None:
        drill.stopping.set()
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    atexit.register(drill.teardown)
    try:
        drill.start()
        setup = {
            "at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "processes": drill.stack.describe(),
            **{k: v for k, v in vars(args).items() if k not in ("out",)},
        }
        drill.run()
        drill.heal_everything()
        proof, violations = drill.prove()
        txs = drill.transactions()
    finally:
        drill.teardown()
    baseline = drill.measure(drill.singles(txs))
    plot(drill, txs, baseline)
    text = report(drill, setup, baseline, proof, violations)
    (out / "results.json").write_text(
        json.dumps(
            {
                "setup": setup,
                "baseline": baseline,
                "faults": [asdict(run) for run in drill.faults],
                "proof": proof,
                "violations": violations,
                "passed": not violations,
                "events": drill.events,
                # (seconds, not final at the producer, open at the consumer)
                "backlog": drill.backlog,
                "requests": {
                    "total": len(drill.calls),
                    "ok": sum(c.ok for c in drill.calls),
                    "by_status": _by_status(drill.calls),
                },
            },
            indent=2,
            default=str,
        )
    )
    print()
    print(text)
    print(f"[drill] report, results and timeline in {out}")
    return 1 if violations else 0


def _by_status(calls: list[Call]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for call in calls:
        counts[str(call.status) if call.status is not None else call.error or "no answer"] += 1
    return dict(counts)


if __name__ == "__main__":
    sys.exit(main())
