"""The consumer's Prometheus metrics (names fixed by docs/pipeline.md).

``Counter("x")`` is exported as ``x_total``. Gauges declare how the multiprocess collector
combines the values of several processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from bankflow.metrics import initialise

TRANSACTIONS_RECEIVED = Counter(
    "bankflow_consumer_transactions_received", "Transactions newly accepted by the intake API."
)
TRANSACTIONS_PROCESSED = Counter(
    "bankflow_consumer_transactions_processed",
    "Transactions processed, by risk decision.",
    ["decision"],
)
TRANSACTIONS_FAILED = Counter(
    "bankflow_consumer_transactions_failed", "Transactions that failed business validation."
)
PROCESSING_BATCH_SECONDS = Histogram(
    "bankflow_consumer_processing_batch_seconds",
    "Time to process one batch (claim, score, price, post, result).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# Transactions per hop: each histogram shows whether batching holds (README, "Batching").
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
INTAKE_BATCH_SIZE = Histogram(
    "bankflow_consumer_intake_batch_size",
    "Transactions per intake request.",
    buckets=BATCH_BUCKETS,
)
PROCESSING_BATCH_SIZE = Histogram(
    "bankflow_consumer_processing_batch_size",
    "Transactions per processed batch.",
    buckets=BATCH_BUCKETS,
)
WEBHOOK_BATCH_SIZE = Histogram(
    "bankflow_consumer_webhook_batch_size",
    "Results per webhook message.",
    buckets=BATCH_BUCKETS,
)
WEBHOOK_ATTEMPTS = Counter(
    "bankflow_consumer_webhook_attempts",
    "Webhook delivery attempts, by outcome.",
    ["outcome"],
)
WEBHOOK_ATTEMPT_SECONDS = Histogram(
    "bankflow_consumer_webhook_attempt_seconds", "Duration of one webhook delivery attempt."
)
WEBHOOKS_DEAD = Gauge(
    "bankflow_consumer_webhooks_dead",
    "Webhook messages in state dead (set by the delivery sweep).",
    multiprocess_mode="livemostrecent",
)

REVIEWS_DECIDED = Counter(
    "bankflow_consumer_reviews_decided",
    "Transactions held for review that a reviewer approved or declined, by decision.",
    ["decision"],
)
REVIEW_QUEUE_SIZE = Gauge(
    "bankflow_consumer_review_queue_size",
    "Transactions waiting for a reviewer (set by the review queue measurement).",
    multiprocess_mode="livemostrecent",
)
REVIEW_QUEUE_OVERDUE = Gauge(
    "bankflow_consumer_review_queue_overdue",
    "Transactions waiting for a reviewer longer than REVIEW_MAX_AGE_HOURS.",
    multiprocess_mode="livemostrecent",
)

initialise(TRANSACTIONS_PROCESSED, decision=("approved", "declined", "review"))
initialise(REVIEWS_DECIDED, decision=("approved", "declined"))
initialise(WEBHOOK_ATTEMPTS, outcome=("delivered", "retry", "dead"))
