#!/usr/bin/env python3
"""``make bench``: bankflow's throughput, latency and CPU cost, beside the naive design.

1. The naive seed design (``../shared/anchors/naive/run.sh 1000 8``) runs first, alone, when
   that folder exists; its end-to-end rate sets today's yardstick (these shared machines
   drift from one week to the next, so only ratios measured in one run mean anything).
2. bankflow's whole stack starts on the real servers (fresh databases, scripts.testenv)
   with its documented process model, and takes three loads, one after the other, each
   under a client of its own:

   - single: 1,000 POSTs from 8 threads;
   - bulk: 10,000 transactions in requests of 1,000;
   - paced: single POSTs offered at 2x the naive rate for 60 s, open loop.

While a load runs, the bench only counts finished transactions of its client in the
producer's database (one indexed COUNT every 0.5 s): nothing pages through the API.
Afterwards it reads every transaction's timestamps (created -> result applied) for exact
percentiles, the CPU each process used (from /proc, PostgreSQL, RabbitMQ and Redis
included), and the batch sizes of every hop (the services' own histograms). At the end it
checks that nothing was lost or doubled: every transaction terminal on both sides, the
same ids on both sides, no ledger leg twice and every currency summing to zero.

Figures are printed and written with plots to ``.local/bench/<timestamp>/`` (report.md,
results.json, throughput.png, latency.png). Nothing here asserts a target: they are read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests
from prometheus_client.parser import text_string_to_metric_families
from tqdm import tqdm

from scripts.loadlib import FINAL, integrity, make_ibans, new_client, percentile
from scripts.stack import Stack
from scripts.testenv import reset_backing_servers

ROOT = Path(__file__).resolve().parents[1]
NAIVE = ROOT.parent / "shared" / "anchors" / "naive" / "run.sh"
# The hops' batch-size histograms, and which process serves each.
BATCH_METRICS = {
    "dispatch (producer -> consumer)": ("producer-worker", "bankflow_producer_dispatch_batch_size"),
    "intake request": ("consumer-web", "bankflow_consumer_intake_batch_size"),
    "processing batch": ("consumer-worker", "bankflow_consumer_processing_batch_size"),
    "results webhook": ("consumer-worker", "bankflow_consumer_webhook_batch_size"),
}
BACKING = {"postgresql": ("postgres",), "rabbitmq": ("beam.smp",), "redis": ("redis-server",)}
CPU_TARGET_SINGLE_MS, CPU_TARGET_BULK_MS, NAIVE_REFERENCE_RATE = 12.0, 2.0, 25.0


# --- the naive design -----------------------------------------------------------------------


def run_naive(out: Path, n: int, clients: int) -> dict[str, Any] | None:
    if not NAIVE.exists():
        print(f"[bench] no naive design at {NAIVE}: skipped, ratios are not computed")
        return None
    print(f"[bench] the naive design first, alone: {NAIVE.name} {n} {clients}")
    figures = out / "naive.json"
    env = {**os.environ, "NAIVE_JSON": str(figures)}
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        env.pop(key, None)  # it makes its own databases and queue
    done = subprocess.run(
        ["bash", str(NAIVE), str(n), str(clients)], env=env, capture_output=True, text=True
    )
    (out / "naive.log").write_text(done.stdout + done.stderr)
    last = [line for line in done.stdout.splitlines() if line.startswith("naive:")]
    if done.returncode != 0 or not figures.exists():
        print(f"[bench] the naive run failed (exit {done.returncode}); see {out / 'naive.log'}")
        return None
    print(f"[bench] {last[-1] if last else 'naive: done'}")
    result: dict[str, Any] = json.loads(figures.read_text())
    return result


# --- what the stack's processes cost --------------------------------------------------------


class CpuMeter:
    """CPU seconds per process of the stack (with its children) and per backing server."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def _tree(self, pid: int) -> float:
        try:
            leader = psutil.Process(pid)
            times = leader.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            for child in leader.children(recursive=True):
                with _gone():
                    child_times = child.cpu_times()
                    total += child_times.user + child_times.system
            return total
        except psutil.NoSuchProcess:
            return 0.0

    def snapshot(self) -> dict[str, float]:
        seconds = {name: self._tree(proc.pid) for name, proc in self.stack.processes.items()}
        for server, names in BACKING.items():
            total = 0.0
            for proc in psutil.process_iter(["name"]):
                if proc.info["name"] in names:
                    with _gone():
                        times = proc.cpu_times()
                        total += times.user + times.system
            seconds[server] = total
        return seconds


class _gone:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *_: Any) -> bool:
        return kind is not None and issubclass(kind, psutil.Error)


# --- the services' own histograms -----------------------------------------------------------


def metrics_urls(stack: Stack) -> dict[str, str]:
    return {
        "producer-web": stack.url("producer"),
        "consumer-web": stack.url("consumer"),
        **{name: f"http://127.0.0.1:{port}" for name, port in stack.metrics_ports().items()},
    }


def histogram_totals(stack: Stack) -> dict[str, tuple[float, float]]:
    """(sum, count) of each batch-size histogram, summed over the series."""
    totals: dict[str, tuple[float, float]] = {}
    for process, url in metrics_urls(stack).items():
        try:
            text = requests.get(f"{url}/metrics", timeout=10).text
        except requests.RequestException:
            continue
        for family in text_string_to_metric_families(text):
            for hop, (owner, name) in BATCH_METRICS.items():
                if owner != process or family.name != name:
                    continue
                total = sum(s.value for s in family.samples if s.name == f"{name}_sum")
                count = sum(s.value for s in family.samples if s.name == f"{name}_count")
                totals[hop] = (total, count)
    return totals


# --- loads ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    name: str
    transactions: int
    offered_rate: float | None = None
    accept_seconds: float = 0.0
    e2e_seconds: float = 0.0
    e2e_rate: float = 0.0
    post_errors: int = 0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    latency_max_ms: float = 0.0
    post_p99_ms: float = 0.0
    cpu_ms_per_tx: dict[str, float] = field(default_factory=dict)
    batch_mean: dict[str, float] = field(default_factory=dict)
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (seconds, unfinished)
    sustained: bool | None = None
    latencies_s: list[float] = field(default_factory=list, repr=False)
    completions_s: list[float] = field(default_factory=list, repr=False)

    @property
    def cpu_total_ms(self) -> float:
        return sum(self.cpu_ms_per_tx.values())


class Bench:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.cpu = CpuMeter(stack)
        self.db = psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True)
        self.ibans = make_ibans()

    def client(self, name: str) -> tuple[str, str]:
        """A new client's id and API key (each load counts only its own transactions)."""
        return new_client(self.stack, name)

    def unfinished(self, client_id: str, expected: int) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM transactions_transaction"
            " WHERE client_id = %s AND status = ANY(%s)",
            (client_id, list(FINAL)),
        ).fetchone()
        return expected - int(row[0] if row else 0)

    def body(self, i: int) -> dict[str, str]:
        pool = self.ibans
        return {
            "reference": f"BENCH-{i}",
            "type": "transfer",
            "amount": f"{10 + i % 500}.{i % 100:02d}",
            "currency": "EUR",
            "source_account": pool[i % len(pool)],
            "destination_account": pool[(i * 7 + 1) % len(pool)],
            "description": "bench",
        }

    def run(
        self, name: str, *, count: int, threads: int, bulk: int = 0, rate: float | None = None
    ) -> LoadResult:
        client_id, key = self.client(f"bench-{name}-{int(time.time())}")
        result = LoadResult(name=name, transactions=count, offered_rate=rate)
        local = threading.local()
        post_seconds: list[float] = []
        errors = [0]
        url = self.stack.url("producer") + "/api/v1/transactions/"

        def session() -> requests.Session:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers["Authorization"] = f"Bearer {key}"
            return local.session

        def post(i: int) -> None:
            started = time.perf_counter()
            try:
                if bulk:
                    items = [self.body(i * bulk + j) for j in range(bulk)]
                    reply = session().post(url + "bulk/", json=items, timeout=120)
                else:
                    reply = session().post(url, json=self.body(i), timeout=30)
                ok = reply.status_code == 201
            except requests.RequestException:
                ok = False
            post_seconds.append(time.perf_counter() - started)
            if not ok:
                errors[0] += 1
            bar.update(bulk or 1)

        requests_needed = count // bulk if bulk else count
        before_cpu, before_batches = self.cpu.snapshot(), histogram_totals(self.stack)
        started = time.monotonic()
        backlog_stop = threading.Event()
        backlog_thread = threading.Thread(
            target=self._watch_backlog,
            args=(client_id, count, started, result, backlog_stop),
            daemon=True,
        )
        with tqdm(total=count, desc=f"{name}: sent", unit="tx", leave=False, disable=None) as bar:
            backlog_thread.start()
            with ThreadPoolExecutor(threads) as pool:
                if rate is None:
                    list(pool.map(post, range(requests_needed)))
                else:  # open loop: offered at a fixed rate whatever the answers do
                    for i in range(requests_needed):
                        delay = started + i / rate - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        pool.submit(post, i)
        result.accept_seconds = time.monotonic() - started
        with tqdm(
            total=count, desc=f"{name}: finished", unit="tx", leave=False, disable=None
        ) as done_bar:
            deadline = time.monotonic() + 600
            while (left := self.unfinished(client_id, count)) > errors[0] * (bulk or 1):
                done_bar.n = count - left
                done_bar.refresh()
                if time.monotonic() > deadline:
                    print(f"[bench] {name}: {left} still unfinished after 600 s")
                    break
                time.sleep(0.5)
        backlog_stop.set()
        backlog_thread.join()
        after_cpu, after_batches = self.cpu.snapshot(), histogram_totals(self.stack)

        result.post_errors = errors[0]
        result.post_p99_ms = percentile(post_seconds, 99) * 1000
        self._timestamps(client_id, result)
        done = max(len(result.latencies_s), 1)
        result.cpu_ms_per_tx = {
            proc: (after_cpu[proc] - before_cpu.get(proc, 0.0)) * 1000 / done for proc in after_cpu
        }
        for hop, (total, n) in after_batches.items():
            before_total, before_n = before_batches.get(hop, (0.0, 0.0))
            if n > before_n:
                result.batch_mean[hop] = (total - before_total) / (n - before_n)
        if rate is not None:
            result.sustained = sustained(result.backlog, result.accept_seconds, rate)
        return result

    def _watch_backlog(
        self, client_id: str, count: int, started: float, result: LoadResult, stop: Any
    ) -> None:
        db = psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True)
        with db:
            while not stop.wait(1.0):
                row = db.execute(
                    "SELECT count(*) FROM transactions_transaction"
                    " WHERE client_id = %s AND NOT (status = ANY(%s))",
                    (client_id, list(FINAL)),
                ).fetchone()
                result.backlog.append((time.monotonic() - started, int(row[0] if row else 0)))

    def _timestamps(self, client_id: str, result: LoadResult) -> None:
        rows = self.db.execute(
            "SELECT created_at, updated_at FROM transactions_transaction"
            " WHERE client_id = %s AND status = ANY(%s)",
            (client_id, list(FINAL)),
        ).fetchall()
        if not rows:
            return
        first = min(created for created, _ in rows)
        last = max(updated for _, updated in rows)
        result.latencies_s = [(u - c).total_seconds() for c, u in rows]
        result.completions_s = sorted((u - first).total_seconds() for _, u in rows)
        result.e2e_seconds = (last - first).total_seconds()
        result.e2e_rate = len(rows) / result.e2e_seconds if result.e2e_seconds > 0 else 0.0
        result.latency_p50_ms = percentile(result.latencies_s, 50) * 1000
        result.latency_p99_ms = percentile(result.latencies_s, 99) * 1000
        result.latency_max_ms = max(result.latencies_s) * 1000


def sustained(backlog: list[tuple[float, int]], load_seconds: float, rate: float) -> bool:
    """The backlog did not grow: over the second half of the load, what was in flight stayed
    within two seconds' worth of arrivals and did not trend up."""
    window = [n for t, n in backlog if load_seconds / 2 <= t <= load_seconds]
    if len(window) < 4:
        return False
    half = len(window) // 2
    first, second = window[:half], window[half:]
    growing = sum(second) / len(second) > sum(first) / len(first) + rate * 0.5
    return max(window) <= rate * 2 and not growing


# --- the report -----------------------------------------------------------------------------


def plots(out: Path, loads: list[LoadResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(loads), figsize=(5 * len(loads), 3.6), squeeze=False)
    for ax, load in zip(axes[0], loads, strict=True):
        per_second: dict[int, int] = defaultdict(int)
        for t in load.completions_s:
            per_second[int(t)] += 1
        xs = list(range(int(max(load.completions_s, default=0)) + 1))
        ax.plot(xs, [per_second.get(x, 0) for x in xs], label="results applied / s")
        if load.offered_rate:
            ax.axhline(load.offered_rate, color="grey", linestyle="--", label="offered")
        ax.set_title(load.name)
        ax.set_xlabel("seconds since the load's first transaction")
        ax.set_ylabel("tx/s")
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for load in loads:
        ordered = sorted(load.latencies_s)
        if ordered:
            ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=load.name)
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end latency, created -> result applied (s)")
    ax.set_ylabel("share of transactions")
    ax.axvline(1.0, color="grey", linestyle=":", label="1 s")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)


def report(
    out: Path,
    naive: dict[str, Any] | None,
    loads: dict[str, LoadResult],
    checks: dict[str, Any],
    setup: dict[str, Any],
) -> str:
    naive_rate = float(naive["e2e_rate"]) if naive else None
    scale = NAIVE_REFERENCE_RATE / naive_rate if naive_rate else 1.0
    single, bulk, paced = loads["single"], loads["bulk"], loads["paced"]

    def ratio(value: float) -> str:
        return f"{value / naive_rate:.1f}x" if naive_rate else "n/a"

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "NOT met")

    paced_ok = bool(paced.sustained) and paced.latency_p99_ms <= 1000
    cpu_single_target = CPU_TARGET_SINGLE_MS * scale
    cpu_bulk_target = CPU_TARGET_BULK_MS * scale
    lines = [
        f"# make bench, {setup['at']}",
        "",
        f"Machine: {setup['cores']} cores; backing servers: {setup['backing']}.",
        f"Process model: {setup['processes']}.",
        "",
        "| load | naive design | bankflow | ratio | target | |",
        "|---|---|---|---|---|---|",
        f"| single POSTs, 8 clients, end to end | "
        f"{f'{naive_rate:.1f} tx/s' if naive_rate else 'n/a'} | {single.e2e_rate:.1f} tx/s "
        f"(p50 {single.latency_p50_ms:.0f} ms, p99 {single.latency_p99_ms:.0f} ms) | "
        f"{ratio(single.e2e_rate)} | >= 6x | "
        f"{verdict(single.e2e_rate >= 6 * naive_rate if naive_rate else None)} |",
        f"| bulk, 1,000 per request, end to end | (single rate) | {bulk.e2e_rate:.0f} tx/s | "
        f"{ratio(bulk.e2e_rate)} | >= 40x | "
        f"{verdict(bulk.e2e_rate >= 40 * naive_rate if naive_rate else None)} |",
        f"| single POSTs offered at {paced.offered_rate:.0f} tx/s (2x naive) for "
        f"{paced.accept_seconds:.0f} s | | {'sustained' if paced.sustained else 'NOT sustained'},"
        f" p50 {paced.latency_p50_ms:.0f} ms, p99 {paced.latency_p99_ms:.0f} ms | | "
        f"sustained, p99 <= 1 s | {verdict(paced_ok)} |",
        f"| CPU per transaction, single | | {single.cpu_total_ms:.1f} ms | | "
        f"<= {cpu_single_target:.1f} ms | {verdict(single.cpu_total_ms <= cpu_single_target)} |",
        f"| CPU per transaction, bulk | | {bulk.cpu_total_ms:.2f} ms | | "
        f"<= {cpu_bulk_target:.2f} ms | {verdict(bulk.cpu_total_ms <= cpu_bulk_target)} |",
        "",
        f"CPU targets are the design's 12 ms / 2 ms on a day the naive design does "
        f"{NAIVE_REFERENCE_RATE:.0f} tx/s, scaled by today's naive rate"
        f" ({f'{naive_rate:.1f}' if naive_rate else 'unknown'} tx/s).",
        "",
        "## CPU per transaction, by process (ms)",
        "",
        "| process | " + " | ".join(loads) + " |",
        "|---|" + "---|" * len(loads),
    ]
    processes = sorted({p for load in loads.values() for p in load.cpu_ms_per_tx})
    for proc in processes:
        lines.append(
            f"| {proc} | "
            + " | ".join(f"{load.cpu_ms_per_tx.get(proc, 0.0):.2f}" for load in loads.values())
            + " |"
        )
    lines.append(
        "| **all** | "
        + " | ".join(f"**{load.cpu_total_ms:.2f}**" for load in loads.values())
        + " |"
    )
    lines += [
        "",
        "## Batch sizes (mean transactions per hop)",
        "",
        "| hop | " + " | ".join(loads) + " |",
        "|---|" + "---|" * len(loads),
    ]
    for hop in BATCH_METRICS:
        lines.append(
            f"| {hop} | "
            + " | ".join(
                f"{load.batch_mean[hop]:.1f}" if hop in load.batch_mean else "-"
                for load in loads.values()
            )
            + " |"
        )
    lines += [
        "",
        "## Each load",
        "",
        "| load | transactions | accepted in | end to end | tx/s | p50 | p99 | max | POST p99 |"
        " POST errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for load in loads.values():
        lines.append(
            f"| {load.name} | {load.transactions} | {load.accept_seconds:.1f} s |"
            f" {load.e2e_seconds:.1f} s | {load.e2e_rate:.1f} | {load.latency_p50_ms:.0f} ms |"
            f" {load.latency_p99_ms:.0f} ms | {load.latency_max_ms:.0f} ms |"
            f" {load.post_p99_ms:.0f} ms | {load.post_errors} |"
        )
    ok = (
        checks["producer_unfinished"] == 0
        and checks["consumer_open"] == 0
        and checks["lost"] == 0
        and checks["unknown_at_producer"] == 0
        and checks["ledger_legs_twice"] == 0
        and checks["ledger_balanced"]
    )
    lines += [
        "",
        "## Nothing lost, nothing doubled",
        "",
        f"{'All checks passed' if ok else 'A CHECK FAILED'}: {checks['producer_unfinished']} "
        f"unfinished at the producer, {checks['consumer_open']} open at the consumer, "
        f"{checks['lost']} sent but never received, {checks['unknown_at_producer']} received "
        f"but unknown to the producer, {checks['ledger_legs_twice']} ledger legs posted twice, "
        f"ledger {'balanced' if checks['ledger_balanced'] else 'NOT balanced'} "
        f"({'; '.join(checks['ledger_check'])}).",
        "",
        "![throughput](throughput.png)",
        "",
        "![latency](latency.png)",
        "",
    ]
    text = "\n".join(lines)
    (out / "report.md").write_text(text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=1000, help="single POSTs (default 1000)")
    parser.add_argument("--threads", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--bulk", type=int, default=10_000, help="bulk transactions (10,000)")
    parser.add_argument("--paced-seconds", type=int, default=60, help="paced load (60 s)")
    parser.add_argument(
        "--paced-rate", type=float, default=None, help="tx/s (default: 2x the naive rate)"
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the naive design")
    parser.add_argument(
        "--web-workers", type=int, default=2, help="gunicorn workers per web service (2)"
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=2, help="prefork children per pool (2)"
    )
    args = parser.parse_args()

    out = ROOT / ".local" / "bench" / datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    naive = None if args.no_naive else run_naive(out, 1000, 8)
    paced_rate = args.paced_rate or (2 * float(naive["e2e_rate"]) if naive else 50.0)

    reset_backing_servers()
    stack = Stack(
        producer_port=18000,
        consumer_port=18001,
        producer_metrics_port=19100,
        consumer_metrics_port=19101,
        consumer_webhooks_metrics_port=19102,
        data_dir=ROOT / ".local" / "bench" / "stack",
        log_dir=out / "logs",
        web_workers=args.web_workers,
        worker_concurrency=args.worker_concurrency,
    )
    backing = ", ".join(
        f"{k}={os.environ.get(k, 'embedded').split('@')[-1]}"
        for k in ("PRODUCER_DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
    )
    if "PRODUCER_DATABASE_URL" not in os.environ:
        print("[bench] needs the real PostgreSQL (run it through `make bench`)")
        return 2
    print(f"[bench] starting bankflow ({backing})")
    stack.start()
    setup = {
        "at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "backing": backing,
        "processes": stack.describe(),
    }
    loads: dict[str, LoadResult] = {}
    try:
        bench = Bench(stack)
        bench.run("warm-up", count=200, threads=args.threads)
        loads["single"] = bench.run("single", count=args.single, threads=args.threads)
        loads["bulk"] = bench.run("bulk", count=args.bulk, threads=2, bulk=1000)
        loads["paced"] = bench.run(
            "paced",
            count=int(paced_rate * args.paced_seconds),
            threads=32,
            rate=paced_rate,
        )
        checks = integrity(stack)
    finally:
        stack.stop()
    plots(out, list(loads.values()))
    text = report(out, naive, loads, checks, setup)
    (out / "results.json").write_text(
        json.dumps(
            {
                "setup": setup,
                "naive": naive,
                "loads": {
                    name: {k: v for k, v in asdict(load).items() if not k.endswith("_s")}
                    for name, load in loads.items()
                },
                "checks": checks,
            },
            indent=2,
        )
    )
    print()
    print(text)
    print(f"[bench] report, figures and plots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
