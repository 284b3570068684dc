"""Failure tests on the local stack: every hop is at-least-once with exactly-once effect.

Each test stops or kills real processes of the stack and starts them again; none leaves
a process down (the fixture restarts whatever a test held).
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from decimal import Decimal

import pytest

from tests.conftest import transaction_body, unique_iban, wait_for, wait_terminal

pytestmark = pytest.mark.local_stack


@pytest.fixture
def stack(local_stack):
    yield local_stack
    for name in list(local_stack.held):
        local_stack.start_process(name)


def consumer_view(deployment, tx_id):
    return deployment.consumer.get(f"/api/v1/transactions/{tx_id}/").json()


def balance(deployment, iban, currency="EUR"):
    response = deployment.consumer.get(f"/api/v1/accounts/{iban}/")
    if response.status_code == 404:  # no ledger account yet: nothing was ever posted
        return Decimal(0)
    return Decimal(response.json()["balances"].get(currency, "0"))


def webhook_attempts(view):
    return (view.get("webhook") or {}).get("attempts", 0)


def test_consumer_down_then_back_is_retried_from_the_outbox(deployment, stack):
    # Given the consumer's web process is down
    stack.stop_process("consumer-web")
    # When a transaction is created
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    time.sleep(2)
    # Then it waits, undelivered
    assert (
        deployment.producer.get(f"/api/v1/transactions/{tx['id']}/").json()["status"] == "pending"
    )
    # And once the consumer is back it is processed without anyone's help
    stack.start_process("consumer-web")
    final = wait_terminal(deployment.producer, tx["id"], timeout=90)
    assert final["status"] == "processed", final
    # And its trail tells the story in order: the failed attempts, then the result
    trail = deployment.producer.get(f"/api/v1/transactions/{tx['id']}/events/").json()
    kinds = [e["type"] for e in trail["results"]]
    assert kinds[0] == "created" and kinds[-1] == "result_applied", kinds
    assert "dispatch_failed" in kinds, kinds
    assert set(kinds[1:-1]) <= {"dispatch_failed", "dispatched"}, kinds
    assert [e["at"] for e in trail["results"]] == sorted(e["at"] for e in trail["results"])


def test_producer_webhook_down_then_back_is_retried_by_the_consumer(deployment, stack):
    # Given a transaction accepted by the consumer while its worker is stopped
    stack.stop_process("consumer-worker")
    tx = deployment.producer.post("/api/v1/transactions/", json=transaction_body()).json()
    wait_for(lambda: consumer_view(deployment, tx["id"]).get("status") == "received", timeout=30)
    # When the producer's web (the webhook receiver) is down while the consumer processes it
    stack.stop_process("producer-web")
    stack.start_process("consumer-worker")
    view = wait_for(
        lambda: webhook_attempts(v := consumer_view(deployment, tx["id"])) >= 1 and v,
        timeout=30,
    )
    assert view["status"] == "processed"
    assert view["webhook"]["state"] != "delivered"
    # Then, once the producer is back, the retry delivers the result
    stack.start_process("producer-web")
    wait_for(lambda: stack_ready(deployment), timeout=30)
    final = wait_terminal(deployment.producer, tx["id"], timeout=90)
    assert final["status"] == "processed", final
    view = consumer_view(deployment, tx["id"])
    assert view["webhook"]["state"] == "delivered"
    assert view["webhook"]["attempts"] >= 2
    # And the consumer's trail has each attempt, in order: refused ones, then delivered
    outcomes = [e["detail"]["outcome"] for e in view["events"] if e["type"] == "webhook_attempt"]
    assert outcomes[0] == "retry" and outcomes[-1] == "delivered", outcomes


def stack_ready(deployment):
    try:
        return deployment.anonymous().get("/readyz").status_code == 200
    except OSError:
        return False


def intake_item(**overrides):
    body = transaction_body(type="deposit", source_account=None, amount="40.00")
    body.update({"id": str(uuid.uuid4()), "created_at": "2026-11-21T10:00:00Z"})
    body.update(overrides)
    return body


def test_the_same_intake_twice_posts_once(deployment, stack):
    # Given one deposit sent to the consumer twice at once, and again afterwards
    item = intake_item(destination_account=unique_iban())
    answers = []

    def send():
        answers.append(deployment.consumer.post("/api/v1/transactions/", json=[item]).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202, 202]
    view = wait_for(
        lambda: (
            (v := consumer_view(deployment, item["id"]))["status"] in {"processed", "failed"} and v
        )
    )
    again = deployment.consumer.post("/api/v1/transactions/", json=[item])
    assert again.status_code == 202
    assert item["id"] in again.json()["duplicates"]
    time.sleep(1)
    # Then it was posted to the ledger once
    if view["status"] == "processed" and view["result"]["decision"] == "approved":
        expected = Decimal(item["amount"]) - Decimal(view["result"]["fee"])
        assert balance(deployment, item["destination_account"]) == expected


def test_worker_killed_mid_batch_is_redelivered_and_posted_once(deployment, stack):
    # Given 300 deposits waiting for a stopped consumer worker
    stack.stop_process("consumer-worker")
    items = [
        transaction_body(
            type="deposit", source_account=None, destination_account=unique_iban(), amount="25.00"
        )
        for _ in range(300)
    ]
    created = deployment.producer.post("/api/v1/transactions/bulk/", json=items)
    assert created.status_code == 201, created.text
    ids = [tx["id"] for tx in created.json()]
    wait_for(lambda: consumer_view(deployment, ids[-1]).get("status") == "received", timeout=60)
    # When the worker starts and is killed with SIGKILL in the middle of its work
    stack.start_process("consumer-worker")
    wait_for(
        lambda: any(consumer_view(deployment, i).get("status") != "received" for i in ids[:50]),
        timeout=30,
        interval=0.02,
    )
    stack.stop_process("consumer-worker", sig=signal.SIGKILL)
    stack.start_process("consumer-worker")
    # Then every transaction still reaches a final status
    for tx_id in ids:
        final = wait_terminal(deployment.producer, tx_id, timeout=120)
        assert final["status"] == "processed", final
    # And each approved deposit moved its account exactly once
    for item, tx_id in zip(items, ids, strict=True):
        result = deployment.producer.get(f"/api/v1/transactions/{tx_id}/").json()["result"]
        expected = (
            Decimal(item["amount"]) - Decimal(result["fee"])
            if result["decision"] == "approved"
            else Decimal(0)
        )
        assert balance(deployment, item["destination_account"]) == expected, tx_id


def test_the_ledger_balances_after_a_concurrent_run_with_several_workers(deployment, stack):
    # Given a second consumer worker beside the first, both with several processes
    service, _, argv = stack.specs["consumer-worker"]
    second = [a.replace("consumer-worker@", "consumer-worker-2@") for a in argv]
    # its own process kind: its own multiprocess metrics dir, no metrics port of its own
    stack.spawn("consumer-worker-2", service, "worker-2", second)
    try:
        # When 600 mixed transactions between a few accounts arrive at once (contention)
        pool = [unique_iban() for _ in range(8)]
        kinds = ["transfer", "payment", "deposit", "withdrawal"]
        currencies = ["EUR", "GBP", "JPY"]
        items = []
        for i in range(600):
            kind, currency = kinds[i % 4], currencies[i % 3]
            source = pool[i % 8] if kind != "deposit" else None
            destination = pool[(i + 3) % 8] if kind != "withdrawal" else None
            amount = str(100 + i) if currency == "JPY" else f"{10 + i % 90}.{i % 100:02d}"
            items.append(
                transaction_body(
                    type=kind,
                    currency=currency,
                    amount=amount,
                    source_account=source,
                    destination_account=destination,
                )
            )
        ids = []
        for start in range(0, 600, 200):
            created = deployment.producer.post(
                "/api/v1/transactions/bulk/", json=items[start : start + 200]
            )
            assert created.status_code == 201, created.text
            ids += [tx["id"] for tx in created.json()]
        # Then all reach a final status, and every currency sums to zero
        finals = [wait_terminal(deployment.producer, tx_id, timeout=120) for tx_id in ids]
        assert {f["status"] for f in finals} == {"processed"}
        approved = sum(1 for f in finals if f["result"]["decision"] == "approved")
        assert approved > 0
        report = json.loads(stack.manage("consumer", "ledger_check").strip().splitlines()[-1])
        assert report["balanced"] is True, report
        assert {"EUR", "GBP", "JPY"} <= set(report["totals"])
    finally:
        stack.stop_process("consumer-worker-2")
        del stack.specs["consumer-worker-2"], stack.processes["consumer-worker-2"]
        stack.held.discard("consumer-worker-2")
