"""The audit trail on both sides and reconciliation, against the running stack.

Transactions are created, processed end to end, and their trails read from both APIs. Then
``producer reconcile`` runs as an operator would run it: it matches once everything has
settled, names the exact id after that row is removed from the consumer's database, and
matches again once the row is back.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from tests.conftest import ROOT, transaction_body, wait_for, wait_terminal

# A currency no other test uses, so that its reconciliation line is this test's alone.
CURRENCY = "CHF"


def chain_is_consistent(events: list[dict[str, Any]]) -> bool:
    """Each event starts where the one before it ended."""
    return all(
        later["from_status"] == earlier["to_status"]
        for earlier, later in itertools.pairwise(events)
    )


def producer_events(deployment, tx_id: str) -> list[dict[str, Any]]:
    response = deployment.producer.get(f"/api/v1/transactions/{tx_id}/events/")
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.fixture(scope="module")
def processed(deployment) -> list[dict[str, Any]]:
    bulk = deployment.producer.post(
        "/api/v1/transactions/bulk/",
        json=[transaction_body(currency=CURRENCY, amount=f"{n}.25") for n in (11, 12, 13)],
    )
    assert bulk.status_code == 201, bulk.text
    single = deployment.producer.post(
        "/api/v1/transactions/", json=transaction_body(currency=CURRENCY, amount="14.75")
    )
    assert single.status_code == 201, single.text
    ids = [t["id"] for t in bulk.json()] + [single.json()["id"]]
    done = [wait_terminal(deployment.producer, tx_id) for tx_id in ids]
    assert {t["status"] for t in done} == {"processed"}, done
    return done


def test_the_producer_trail_of_a_processed_transaction(deployment, processed):
    for tx in processed:
        events = producer_events(deployment, tx["id"])
        kinds = [e["type"] for e in events]
        assert kinds[0] == "created" and events[0]["from_status"] is None
        assert kinds[-1] == "result_applied" and events[-1]["to_status"] == "processed"
        # dispatched unless the result overtook the dispatcher's bookkeeping
        assert kinds in (
            ["created", "dispatched", "result_applied"],
            ["created", "result_applied"],
        ), kinds
        assert chain_is_consistent(events)
        assert events[-1]["detail"]["decision"] == tx["result"]["decision"]
        assert events[-1]["detail"]["fee"] == tx["result"]["fee"]
        assert [e["at"] for e in events] == sorted(e["at"] for e in events)
        assert all(e["at"].endswith("Z") for e in events)


def test_the_consumer_trail_of_the_same_transactions(deployment, processed):
    for tx in processed:

        def delivered(tx_id: str = tx["id"]) -> list[dict[str, Any]] | None:
            body = deployment.consumer.get(f"/api/v1/transactions/{tx_id}/").json()
            events = body["events"]
            attempts = [e for e in events if e["type"] == "webhook_attempt"]
            return events if attempts and attempts[-1]["detail"]["outcome"] == "delivered" else None

        events = wait_for(delivered, timeout=30)
        kinds = [e["type"] for e in events]
        assert kinds[:3] == ["received", "processing", "decided"], kinds
        decided = events[2]
        assert decided["detail"]["decision"] == tx["result"]["decision"]
        assert decided["detail"]["risk_score"] == tx["result"]["risk_score"]
        assert ("posted" in kinds) == (tx["result"]["decision"] == "approved")
        assert chain_is_consistent(events)


# --- reconciliation (runs the producer's command: the local stack's processes only) -------


def reconcile(stack, day: str) -> tuple[int, str]:
    env = stack.env("producer", "manage")
    env["RECONCILIATION_SETTLE_SECONDS"] = "0"  # everything here has settled already
    done = subprocess.run(
        [sys.executable, "-m", "producer", "reconcile", "--date", day],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, done.stdout


def our_line(output: str, day: str) -> str:
    (line,) = [x for x in output.splitlines() if x.startswith(f"{day} {CURRENCY} ")]
    return line


SAVE = """
from django.db import connection
with connection.cursor() as c:
    c.execute(
        "CREATE TABLE audit_e2e_saved AS"
        " SELECT * FROM intake_receivedtransaction WHERE id = %s",
        [TX],
    )
    if connection.vendor == "postgresql":
        c.execute("SET session_replication_role = replica")  # past the FKs to it
    else:
        c.execute("PRAGMA foreign_keys = OFF")
    c.execute("DELETE FROM intake_receivedtransaction WHERE id = %s", [TX])
"""
RESTORE = """
from django.db import connection
with connection.cursor() as c:
    if connection.vendor == "postgresql":
        c.execute("SET session_replication_role = replica")
    else:
        c.execute("PRAGMA foreign_keys = OFF")
    c.execute("INSERT INTO intake_receivedtransaction SELECT * FROM audit_e2e_saved")
    c.execute("DROP TABLE audit_e2e_saved")
"""


def consumer_sql(stack, code: str, tx_id: str) -> None:
    value = UUID(tx_id).hex  # the column's storage form on SQLite; PostgreSQL takes it too
    stack.manage("consumer", "shell", "-c", code.replace("TX", repr(value)))


def test_reconcile_matches_then_names_a_removed_row_exactly(local_stack, processed):
    day = datetime.fromisoformat(processed[0]["created_at"].replace("Z", "+00:00"))
    day_text = day.astimezone(UTC).date().isoformat()
    total = sum(Decimal(t["amount"]) for t in processed)
    fees = sum(Decimal(t["result"]["fee"]) for t in processed)

    def settled() -> str | None:
        code, out = reconcile(local_stack, day_text)
        return out if code == 0 else None

    # Given everything has settled (other tests' work included): it matches
    out = wait_for(settled, timeout=60, interval=2)
    assert our_line(out, day_text) == (
        f"{day_text} {CURRENCY} matched count {len(processed)}/{len(processed)}"
        f" amount {total}/{total} fee {fees:.2f}/{fees:.2f}"
    )
    assert out.splitlines()[-1].startswith("reconciliation: ")
    assert out.splitlines()[-1].endswith(" 0 mismatched")

    # When one of them disappears from the consumer's database
    removed = processed[1]["id"]
    consumer_sql(local_stack, SAVE, removed)
    try:
        code, out = reconcile(local_stack, day_text)
        # Then the run fails and names exactly that id, on the producer's side only
        assert code == 1
        line = our_line(out, day_text)
        assert f"{CURRENCY} MISMATCHED count {len(processed)}/{len(processed) - 1}" in line
        assert line.endswith(f"only_producer {removed}")
        assert "only_consumer" not in line
        assert out.splitlines()[-1].endswith(" 1 mismatched")
    finally:
        consumer_sql(local_stack, RESTORE, removed)

    # And once it is back, the books agree again
    code, out = reconcile(local_stack, day_text)
    assert code == 0, out
    assert " matched count " in our_line(out, day_text)
