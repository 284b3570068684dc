"""The producer's Prometheus metrics (names fixed in docs/pipeline.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from bankflow.metrics import initialise

DECISIONS = ("approved", "declined", "review")

transactions_created = Counter(
    "bankflow_producer_transactions_created", "Transactions accepted by the API.", ["type"]
)
transactions_dispatched = Counter(
    "bankflow_producer_transactions_dispatched",
    "Transactions the consumer acknowledged (202).",
)
transactions_completed = Counter(
    "bankflow_producer_transactions_completed",
    "Transactions that reached processed, failed or cancelled.",
    ["status", "decision"],
)
end_to_end_seconds = Histogram(
    "bankflow_producer_end_to_end_seconds",
    "From creation to the consumer's result applied here.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
dispatch_batch_size = Histogram(
    "bankflow_producer_dispatch_batch_size",
    "Transactions per intake request to the consumer.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
dispatch_requests = Counter(
    "bankflow_producer_dispatch_requests",
    "Intake requests to the consumer, by outcome.",
    ["outcome"],
)
outbox_backlog = Gauge(
    "bankflow_producer_outbox_backlog",
    "Outbox rows not yet acknowledged by the consumer (set by the sweep).",
    multiprocess_mode="livemostrecent",
)
webhooks_received = Counter(
    "bankflow_producer_webhooks_received",
    "Result webhooks from the consumer, by outcome.",
    ["outcome"],
)

initialise(transactions_created, type=("transfer", "payment", "deposit", "withdrawal"))
initialise(
    transactions_completed,
    status=("processed", "failed", "cancelled"),
    decision=(*DECISIONS, "none"),
)
initialise(dispatch_requests, outcome=("accepted", "rejected", "error"))
initialise(webhooks_received, outcome=("applied", "duplicate", "unauthorized", "invalid"))


def decision_label(result: object) -> str:
    decision = result.get("decision") if isinstance(result, dict) else None
    return decision if decision in DECISIONS else "none"
