"""What ``make bench`` and ``make drill`` share: clients, bodies, percentiles and the checks
that nothing was lost or doubled (read straight from both services' databases)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import psycopg

from scripts.stack import Stack

FINAL = ("processed", "failed", "cancelled")
CONSUMER_FINAL = ("processed", "failed")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def make_ibans(n: int = 2000) -> list[str]:
    from schwifty import IBAN

    return [
        IBAN.generate("DE", bank_code="37040044", account_code=str(10**9 + i)).compact
        for i in range(n)
    ]


def new_client(stack: Stack, name: str) -> tuple[str, str]:
    """A new client's id and API key (each load counts only its own transactions)."""
    out = stack.manage("producer", "create_client", name)
    client_id = re.search(r"\(([0-9a-f-]{36})\)", out)
    if client_id is None:
        raise SystemExit(f"[load] create_client said: {out}")
    return client_id.group(1), out.strip().splitlines()[-1]


def _one(conn: psycopg.Connection[Any], query: str, *args: Any) -> int:
    row = conn.execute(query, args or None).fetchone()
    return int(row[0] if row and row[0] is not None else 0)


# --- nothing lost, nothing doubled ----------------------------------------------------------


def integrity(stack: Stack) -> dict[str, Any]:
    producer = psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True)
    consumer = psycopg.connect(os.environ["CONSUMER_DATABASE_URL"], autocommit=True)
    with producer, consumer:
        unfinished = _one(
            producer,
            "SELECT count(*) FROM transactions_transaction WHERE NOT (status = ANY(%s))",
            list(FINAL),
        )
        sent = {
            row[0]
            for row in producer.execute(
                "SELECT id FROM transactions_transaction WHERE status <> 'cancelled'"
            )
        }
        received = {row[0] for row in consumer.execute("SELECT id FROM intake_receivedtransaction")}
        open_rows = _one(
            consumer,
            "SELECT count(*) FROM intake_receivedtransaction WHERE NOT (status = ANY(%s))",
            list(CONSUMER_FINAL),
        )
        doubled_legs = _one(
            consumer,
            "SELECT count(*) FROM (SELECT transaction_id, leg FROM ledger_entry"
            " GROUP BY transaction_id, leg HAVING count(*) > 1) AS d",
        )
    ledger = subprocess.run(
        [sys.executable, "-m", "consumer", "ledger_check"],
        env=stack.env("consumer", "manage"),
        capture_output=True,
        text=True,
    )
    return {
        "producer_unfinished": unfinished,
        "consumer_open": open_rows,
        "lost": len(sent - received),
        "unknown_at_producer": len(received - sent),
        "ledger_legs_twice": doubled_legs,
        "ledger_balanced": ledger.returncode == 0,
        "ledger_check": ledger.stdout.strip().splitlines()[-1:] or [ledger.stderr.strip()],
    }


def webhooks_undelivered(stack: Stack) -> dict[str, int]:
    """The consumer's result webhooks by state, except the delivered ones."""
    with psycopg.connect(os.environ["CONSUMER_DATABASE_URL"], autocommit=True) as consumer:
        rows = consumer.execute(
            "SELECT state, count(*) FROM webhooks_webhookmessage"
            " WHERE state <> 'delivered' GROUP BY state"
        ).fetchall()
    return {state: int(n) for state, n in rows}


def _has_command(stack: Stack, service: str, command: str) -> bool:
    listed = subprocess.run(
        [sys.executable, "-m", service, "help", "--commands"],
        env=stack.env(service, "manage"),
        capture_output=True,
        text=True,
    )
    return command in listed.stdout.split()


def reconcile(stack: Stack) -> dict[str, Any]:
    """The producer and the consumer agree: the producer's ``reconcile`` command when it
    exists (exit status 0 = matched), else the two databases compared here: ids on one side
    only, statuses, and per currency the count, amount and fee sums."""
    if _has_command(stack, "producer", "reconcile"):
        done = subprocess.run(
            [sys.executable, "-m", "producer", "reconcile"],
            env=stack.env("producer", "manage"),
            capture_output=True,
            text=True,
        )
        return {
            "by": "producer reconcile",
            "matched": done.returncode == 0,
            "output": (done.stdout + done.stderr).strip().splitlines()[-5:],
        }
    producer = psycopg.connect(os.environ["PRODUCER_DATABASE_URL"], autocommit=True)
    consumer = psycopg.connect(os.environ["CONSUMER_DATABASE_URL"], autocommit=True)
    with producer, consumer:
        left = {
            str(i): (s, str(a), c, (r or {}).get("fee"))
            for i, s, a, c, r in producer.execute(
                "SELECT id, status, amount, currency, result FROM transactions_transaction"
                " WHERE status <> 'cancelled'"
            )
        }
        right = {
            str(i): (s, str(a), c, (r or {}).get("fee"))
            for i, s, a, c, r in consumer.execute(
                "SELECT id, status, amount, currency, result FROM intake_receivedtransaction"
            )
        }

    def sums(side: dict[str, tuple[str, str, str, Any]]) -> dict[str, dict[str, str]]:
        totals: dict[str, list[Decimal]] = {}
        for _status, amount, currency, fee in side.values():
            t = totals.setdefault(currency, [Decimal(0), Decimal(0), Decimal(0)])
            t[0] += 1
            t[1] += Decimal(amount)
            t[2] += Decimal(fee or 0)
        return {
            c: {"count": f"{n:f}", "amount": f"{a.normalize():f}", "fees": f"{f.normalize():f}"}
            for c, (n, a, f) in sorted(totals.items())
        }

    status_mismatch = [
        i
        for i in left.keys() & right.keys()
        if left[i][0] != right[i][0] or left[i][3] != right[i][3]
    ]
    producer_sums, consumer_sums = sums(left), sums(right)
    only_producer, only_consumer = (
        sorted(left.keys() - right.keys()),
        sorted(right.keys() - left.keys()),
    )
    matched = (
        not only_producer
        and not only_consumer
        and not status_mismatch
        and producer_sums == consumer_sums
    )
    return {
        "by": "the two databases compared (no `producer reconcile` command here yet)",
        "matched": matched,
        "only_at_producer": only_producer[:20],
        "only_at_consumer": only_consumer[:20],
        "status_or_fee_differs": sorted(status_mismatch)[:20],
        "producer_per_currency": producer_sums,
        "consumer_per_currency": consumer_sums,
    }


def ledger_totals(checks: dict[str, Any]) -> dict[str, Any]:
    """ledger_check's JSON line, when it printed one."""
    try:
        return dict(json.loads(checks["ledger_check"][-1]))
    except (ValueError, IndexError, TypeError):
        return {}
