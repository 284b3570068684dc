"""``bankflow_producer_reconciliation_*`` (docs/pipeline.md), set by the process that ran
the reconciliation (the worker, for the hourly beat task)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from bankflow.metrics import initialise

runs = Counter(
    "bankflow_producer_reconciliation_runs",
    "Reconciliation runs, by outcome.",
    ["outcome"],
)
# "mostrecent": the last run's figures, whichever process (prefork child) ran it.
pairs = Gauge(
    "bankflow_producer_reconciliation_pairs",
    "(day, currency) pairs of the last completed run, by result.",
    ["result"],
    multiprocess_mode="mostrecent",
)
last_run = Gauge(
    "bankflow_producer_reconciliation_last_run_timestamp_seconds",
    "When the last reconciliation run that reached the consumer finished (Unix time).",
    multiprocess_mode="mostrecent",
)

initialise(runs, outcome=("matched", "mismatched", "error"))
# The gauges are not initialised at import: a "mostrecent" gauge only exports values that
# were set. The worker sets them from the last stored run when it starts (tasks.py), so a
# restart neither hides a mismatch nor invents one.
