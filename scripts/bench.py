#!/usr/bin/env python3
"""``make bench``: end-to-end throughput and latency of the local stack, as figures.

Starts the whole stack (real PostgreSQL/RabbitMQ/Redis when scripts.testenv finds
them, fresh test databases), then measures, end to end (created at the producer → result
applied at the producer, read from the producer's own metrics):

1. bulk: batches of 1000 through POST /transactions/bulk/;
2. single: one transaction per POST from several keep-alive clients;
3. latency: a steady offered rate (default 200 tx/s), p50/p99 of the end-to-end histogram
   and of the POST itself.

It prints the figures beside DESIGN.md's targets; it asserts nothing (targets are checked
by reading, not by a timed test).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from scripts.stack import Stack
from scripts.testenv import reset_backing_servers

ROOT = Path(__file__).resolve().parents[1]


COMPLETED = "bankflow_producer_transactions_completed_total"
E2E = "bankflow_producer_end_to_end_seconds"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN|\+Inf)$")


def make_ibans(n: int = 2000) -> list[str]:
    from schwifty import IBAN

    return [
        IBAN.generate("DE", bank_code="37040044", account_code=str(10**9 + i)).compact
        for i in range(n)
    ]


IBANS = make_ibans()  # built once, before any client thread reads it


def body(i: int) -> dict[str, str]:
    pool = IBANS
    return {
        "reference": f"BENCH-{i}",
        "type": "transfer",
        "amount": f"{10 + i % 500}.{i % 100:02d}",
        "currency": "EUR",
        "source_account": pool[i % len(pool)],
        "destination_account": pool[(i * 7 + 1) % len(pool)],
        "description": "bench",
    }


def scrape(url: str) -> dict[str, float]:
    """Sum samples by name+labels (multiprocess pages may repeat a series)."""
    out: dict[str, float] = {}
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            key = match.group(1) + (match.group(2) or "")
            out[key] = out.get(key, 0.0) + float(match.group(3).replace("+Inf", "inf"))
    return out


def completed(url: str) -> float:
    return sum(v for k, v in scrape(url).items() if k.startswith(COMPLETED))


def e2e_buckets(url: str) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for key, value in scrape(url).items():
        if key.startswith(f"{E2E}_bucket"):
            le = re.search(r'le="([^"]+)"', key)
            if le:
                bound = float(le.group(1).replace("+Inf", "inf"))
                buckets[bound] = buckets.get(bound, 0.0) + value
    return buckets


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """Histogram quantile over the window between two scrapes (upper bucket bound)."""
    delta = sorted((le, after.get(le, 0) - before.get(le, 0)) for le in after)
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return float("nan")
    for le, count in delta:
        if count >= q * total:
            return le
    return float("inf")


def wait_completed(url: str, target: float, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if completed(url) >= target:
            return time.monotonic()
        time.sleep(0.2)
    raise SystemExit(f"[bench] only {completed(url):.0f} of {target:.0f} completed in {timeout}s")


def session(key: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {key}"
    return s


def bench_bulk(url: str, key: str, batches: int, threads: int) -> dict[str, float]:
    base = completed(url)
    local = threading.local()

    def post(n: int) -> None:
        if not hasattr(local, "s"):
            local.s = session(key)
        items = [body(n * 1000 + i) for i in range(1000)]
        r = local.s.post(f"{url}/api/v1/transactions/bulk/", json=items, timeout=120)
        r.raise_for_status()

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(batches)))
    accepted = time.monotonic()
    done = wait_completed(url, base + batches * 1000, timeout=600)
    n = batches * 1000
    return {"n": n, "accept_rate": n / (accepted - started), "e2e_rate": n / (done - started)}


def bench_single(url: str, key: str, count: int, threads: int) -> dict[str, float]:
    base = completed(url)
    local = threading.local()
    latencies: list[float] = []

    def post(i: int) -> None:
        if not hasattr(local, "s"):
            local.s = session(key)
        t0 = time.perf_counter()
        r = local.s.post(f"{url}/api/v1/transactions/", json=body(10**7 + i), timeout=30)
        latencies.append(time.perf_counter() - t0)
        r.raise_for_status()

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(count)))
    accepted = time.monotonic()
    done = wait_completed(url, base + count, timeout=600)
    return {
        "n": count,
        "accept_rate": count / (accepted - started),
        "e2e_rate": count / (done - started),
        "post_p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
    }


def bench_latency(url: str, key: str, rate: int, seconds: int) -> dict[str, float]:
    base = completed(url)
    before = e2e_buckets(url)
    local = threading.local()
    latencies: list[float] = []
    total = rate * seconds

    def post(i: int) -> None:
        if not hasattr(local, "s"):
            local.s = session(key)
        t0 = time.perf_counter()
        local.s.post(f"{url}/api/v1/transactions/", json=body(2 * 10**7 + i), timeout=30)
        latencies.append(time.perf_counter() - t0)

    started = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        for i in range(total):  # open loop: offer at a fixed rate whatever the answers do
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, i)
    wait_completed(url, base + total, timeout=300)
    after = e2e_buckets(url)
    return {
        "n": total,
        "offered_rate": rate,
        "e2e_p50_ms": quantile(0.5, before, after) * 1000,
        "e2e_p99_ms": quantile(0.99, before, after) * 1000,
        "post_p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-batches", type=int, default=10)
    parser.add_argument("--single", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--web-workers", type=int, default=3)
    args = parser.parse_args()

    reset_backing_servers()
    stack = Stack(
        producer_port=18000,
        consumer_port=18001,
        producer_metrics_port=19100,
        consumer_metrics_port=19101,
        data_dir=ROOT / ".local" / "bench",
        log_dir=ROOT / ".local" / "bench" / "logs",
        web_workers=args.web_workers,
    )
    backing = ", ".join(
        f"{k}={os.environ.get(k, 'embedded').split('@')[-1]}"
        for k in ("PRODUCER_DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
    )
    print(f"[bench] starting the stack ({backing})")
    stack.start()
    url, key = stack.url("producer"), stack.demo_key
    try:
        bulk = bench_bulk(url, key, args.bulk_batches, threads=2)
        single = bench_single(url, key, args.single, threads=8)
        latency = bench_latency(url, key, args.rate, args.seconds)
    finally:
        stack.stop()

    at = f"at {args.rate} tx/s"
    rows = [
        ("bulk, end to end", bulk["e2e_rate"], "tx/s", ">= 3,000 tx/s", bulk["e2e_rate"] >= 3000),
        ("bulk, accepted by the API", bulk["accept_rate"], "tx/s", "", None),
        (
            "single POSTs, end to end",
            single["e2e_rate"],
            "tx/s",
            ">= 500 tx/s",
            single["e2e_rate"] >= 500,
        ),
        ("single POSTs, accepted", single["accept_rate"], "tx/s", "", None),
        ("single POST p99 (8 clients)", single["post_p99_ms"], "ms", "", None),
        (f"e2e p50 {at}", latency["e2e_p50_ms"], "ms", "", None),
        (f"e2e p99 {at}", latency["e2e_p99_ms"], "ms", "<= 500 ms", latency["e2e_p99_ms"] <= 500),
        (f"POST p99 {at}", latency["post_p99_ms"], "ms", "", None),
    ]
    print("\n| measure | figure | target | |\n|---|---|---|---|")
    for name, figure, unit, target, met in rows:
        mark = "" if met is None else ("met" if met else "NOT met")
        print(f"| {name} | {figure:,.0f} {unit} | {target} | {mark} |")
    print("\n(p99 from the end-to-end histogram: the upper bound of the bucket it falls in)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
