"""Every alert fires on its fault in a real Prometheus, and only then.

The Prometheus of conftest.py evaluates the charts' rendered rules with every `for` and
range window divided by TIME_SCALE (60: a 15-minute `for` becomes 15 s, `rate(x[10m])`
becomes `rate(x[10s])`), scraping every second, so that each fault shows within a minute.
The real `for` and windows are what the promtool unit tests (test_alert_rules.py) check;
this test checks that the rules, read against what the stack really exports and with the
labels the monitors really add, fire for the faults that matter:

- quiet through the healthy run;
- each scenario below causes one fault on the local stack (the fault tests' own means:
  a process stopped, restarted with a different setting), and the alerts that fire while
  it lasts are exactly its `expected` ones (plus `tolerated`, each with its reason);
- once it is repaired, every alert resolves before the next scenario starts.

Every alert of the charts must be fired by a scenario or be listed in UNIT_TESTED_ONLY
with the reason, so a new alert fails here until it is covered. Each alert's picture
(docs/img/alerts/, linked from docs/runbooks.md) is drawn from its scenario.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import yaml

from bankflow.webhooks import generate_secret
from tests.conftest import transaction_body, unique_iban
from tests.deploy.deploylib import promql_selectors
from tests.observability.conftest import SCRAPE_SECONDS, TIME_SCALE, say
from tests.observability.pictures import Comparison, Series, render_alert, to_series
from tests.observability.promlib import ALERT_TESTS, UNIT_TESTED_ONLY, alert_rules, comparisons

pytestmark = pytest.mark.local_stack

FIRE_TIMEOUT = 90.0
QUIET_TIMEOUT = 120.0
# A destination the consumer's rules score as high risk (a review, at a small amount).
HIGH_RISK_IBAN = "RU0900000000000000000001111111111"


# ---- faults ---------------------------------------------------------------------------------
class Load:
    """Calls ``action`` every ``every`` seconds in a thread until stopped; errors (a process
    restarting under it) are counted, not raised."""

    def __init__(self, action: Callable[[], None], every: float) -> None:
        self.action, self.every = action, every
        self.stopping = threading.Event()
        self.errors = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.action()
            except (requests.RequestException, ValueError, KeyError):
                self.errors += 1
            self.stopping.wait(self.every)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """os.environ changed while a stack process starts (it copies the environment)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Faults:
    deployment: Any
    stack: Any

    def restart(self, process: str, **env: str) -> None:
        self.stack.stop_process(process)
        with environment(**env):
            self.stack.start_process(process)
        self.wait_serving(process)

    def start(self, process: str) -> None:
        self.stack.start_process(process)
        self.wait_serving(process)

    def wait_serving(self, process: str, timeout: float = 60) -> None:
        service, kind, _ = self.stack.specs[process]
        if kind == "web":
            url = f"{self.stack.url(service)}/readyz"
        else:
            url = f"http://127.0.0.1:{self.stack.env(service, kind)['METRICS_PORT']}/metrics"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"{process} not serving {url} after {timeout}s")

    def create(self, count: int = 1) -> None:
        if count == 1:
            self.deployment.producer.post("/api/v1/transactions/", json=transaction_body())
        else:
            self.deployment.producer.post(
                "/api/v1/transactions/bulk/", json=[transaction_body() for _ in range(count)]
            )

    def restart_beat(self, process: str, **env: str) -> None:
        """A beat serves no port: restarted, not waited for (it schedules within a second)."""
        self.stack.stop_process(process)
        with environment(**env):
            self.stack.start_process(process)

    def held_for_review(self) -> None:
        """A transfer of 100 EUR to a high-risk country: the rules hold it for review."""
        body = transaction_body(amount="100.00", destination_account=HIGH_RISK_IBAN)
        self.deployment.producer.post("/api/v1/transactions/", json=body)

    def decide_every_review(self, timeout: float = 60) -> None:
        """Decline whatever waits for review, until the queue stays empty (late arrivals)."""
        consumer = self.deployment.consumer
        deadline, empty = time.monotonic() + timeout, 0
        while empty < 3 and time.monotonic() < deadline:
            waiting = consumer.get("/api/v1/transactions/?decision=review&limit=500").json()
            for item in waiting["results"]:
                consumer.post(
                    f"/api/v1/transactions/{item['id']}/review/",
                    json={"decision": "declined", "note": "alert drill", "reviewer": "tests"},
                )
            empty = 0 if waiting["results"] else empty + 1
            time.sleep(1)

    def invalid_intake(self) -> None:
        """A deposit with a source account, sent straight to the consumer's intake (whose
        API checks only the shape): its pipeline fails it, as it would a producer bug."""
        item = transaction_body(type="deposit", amount="40.00", source_account=unique_iban())
        item.update({"id": str(uuid.uuid4()), "created_at": "2026-11-21T10:00:00Z"})
        self.deployment.consumer.post("/api/v1/transactions/", json=[item])


@contextlib.contextmanager
def producer_worker_stopped(f: Faults) -> Iterator[None]:
    f.stack.stop_process("producer-worker")
    with Load(f.create, every=0.5):
        yield
    f.start("producer-worker")


@contextlib.contextmanager
def consumer_worker_stopped(f: Faults) -> Iterator[None]:
    f.stack.stop_process("consumer-worker")
    with Load(f.create, every=0.5):
        yield
    f.start("consumer-worker")


@contextlib.contextmanager
def consumer_down(f: Faults) -> Iterator[None]:
    f.stack.stop_process("consumer-web")
    with Load(lambda: f.create(10), every=1.0):
        yield
    f.start("consumer-web")


@contextlib.contextmanager
def webhook_secret_mismatch(f: Faults) -> Iterator[None]:
    # The producer no longer accepts the consumer's signing secret (a rotation done in the
    # wrong order): every result webhook gets 401, which the consumer does not retry.
    f.restart("producer-web", WEBHOOK_SECRETS=generate_secret())
    with Load(f.create, every=0.5):
        yield
    f.restart("producer-web")
    f.stack.manage("consumer", "redeliver_webhooks", "--dead")


@contextlib.contextmanager
def invalid_transactions(f: Faults) -> Iterator[None]:
    with Load(f.invalid_intake, every=0.5):
        yield


@contextlib.contextmanager
def short_dispatch_budget(f: Faults) -> Iterator[None]:
    """Outside the measured window: a producer worker that gives up after one attempt, so
    that a consumer outage fails transactions now instead of after minutes of retries."""
    f.restart("producer-worker", DISPATCH_MAX_ATTEMPTS="1")
    try:
        yield
    finally:
        f.restart("producer-worker")


@contextlib.contextmanager
def short_review_age(f: Faults) -> Iterator[None]:
    """Outside the measured window: a review is overdue after about a second
    (REVIEW_MAX_AGE_HOURS), and the queue is measured every second."""
    env = {"REVIEW_MAX_AGE_HOURS": "0.0003", "REVIEW_MEASURE_INTERVAL_SECONDS": "1"}
    # Reviews earlier tests left waiting would be overdue at once (the worker measures the
    # queue as it starts): the scenario starts from an empty queue.
    f.decide_every_review()
    f.restart("consumer-worker", **env)
    f.restart_beat("consumer-beat", **env)
    try:
        yield
    finally:
        f.restart("consumer-worker")
        f.restart_beat("consumer-beat")


@contextlib.contextmanager
def reviews_waiting(f: Faults) -> Iterator[None]:
    # Nobody decides the transactions the rules hold for review; the repair is a reviewer
    # deciding every one of them.
    with Load(f.held_for_review, every=1.0):
        yield
    f.decide_every_review()


@dataclass
class Scenario:
    name: str
    fault: Callable[[Faults], contextlib.AbstractContextManager[None]]
    expected: set[str]
    tolerated: dict[str, str] = field(default_factory=dict)  # alert -> why it may fire too
    prepare: Callable[[Faults], contextlib.AbstractContextManager[None]] | None = None


SCENARIOS = [
    Scenario(
        "the producer's worker stopped while clients create transactions",
        producer_worker_stopped,
        {"BankflowProducerWorkerDown", "BankflowProducerNoThroughput"},
    ),
    Scenario(
        "the consumer's worker stopped while transactions arrive",
        consumer_worker_stopped,
        {"BankflowConsumerWorkerDown", "BankflowConsumerNoThroughput"},
    ),
    Scenario(
        "the consumer's web tier down while clients create 10 transactions a second",
        consumer_down,
        {"BankflowProducerNoThroughput", "BankflowOutboxBacklogGrowing"},
    ),
    Scenario(
        "the producer refuses the consumer's webhook signature (results go dead)",
        webhook_secret_mismatch,
        {"BankflowDeadWebhooks", "BankflowWebhooksUnauthorized"},
    ),
    Scenario(
        "transactions that break the consumer's business rules",
        invalid_transactions,
        {"BankflowConsumerFailureRatioHigh"},
    ),
    Scenario(
        "transactions held for review wait longer than REVIEW_MAX_AGE_HOURS",
        reviews_waiting,
        {"BankflowReviewsOverdue"},
        prepare=short_review_age,
    ),
    Scenario(
        "the consumer down longer than the producer's dispatch retries",
        consumer_down,
        {"BankflowProducerFailureRatioHigh"},
        tolerated={
            "BankflowProducerNoThroughput": "rows wait for their one attempt while nothing "
            "is dispatched, which is what it reports",
            "BankflowOutboxBacklogGrowing": "the load creates 10 a second; some sweeps see "
            "the rows before their one attempt",
        },
        prepare=short_dispatch_budget,
    ),
]


# ---- running them -----------------------------------------------------------------------------
@dataclass
class Outcome:
    scenario: Scenario
    start: float
    repaired: float = 0.0
    end: float = 0.0
    fired: dict[str, float] = field(default_factory=dict)  # alert -> first seen firing
    quiet_again: bool = False
    error: str = ""
    readings: dict[str, list[str]] = field(default_factory=dict)  # alert -> when it fired


def active_alerts(live) -> dict[str, str]:
    """alertname -> firing | pending (firing wins)."""
    states: dict[str, str] = {}
    for alert in live.server.alerts():
        name = alert["labels"]["alertname"]
        if states.get(name) != "firing":
            states[name] = alert["state"]
    return states


def observe(live, outcome: Outcome) -> dict[str, str]:
    """The active alerts now; a newly firing one is recorded with what its comparisons read."""
    states = active_alerts(live)
    rules = {r["alert"]: r for r in alert_rules(live.scaled)}
    for name, state in states.items():
        if state == "firing" and name not in outcome.fired:
            outcome.fired[name] = time.time()
            readings = []
            for lhs, op, threshold in comparisons(rules[name]["expr"]):
                values = [s["value"][1] for s in live.server.query(lhs)]
                readings.append(f"{lhs} = {values or 'empty'} ({op} {threshold})")
            outcome.readings[name] = readings
    return states


def wait_quiet(live, timeout: float, outcome: Outcome | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = observe(live, outcome) if outcome is not None else active_alerts(live)
        if not states:
            return True
        time.sleep(0.5)
    return False


def run(live, faults: Faults, scenario: Scenario) -> Outcome:
    with contextlib.ExitStack() as prepared:
        if scenario.prepare is not None:
            prepared.enter_context(scenario.prepare(faults))
        assert wait_quiet(live, QUIET_TIMEOUT), f"not quiet before: {active_alerts(live)}"
        outcome = Outcome(scenario, start=time.time())
        with scenario.fault(faults):
            deadline = time.monotonic() + FIRE_TIMEOUT
            while time.monotonic() < deadline:
                observe(live, outcome)
                if scenario.expected <= set(outcome.fired):
                    break
                time.sleep(0.5)
            outcome.repaired = time.time()
        outcome.quiet_again = wait_quiet(live, QUIET_TIMEOUT, outcome)
        outcome.end = time.time()
    assert wait_quiet(live, QUIET_TIMEOUT), f"not quiet after: {active_alerts(live)}"
    return outcome


@pytest.fixture(scope="session")
def outcomes(
    request, pytestconfig, live, healthy_run, deployment, local_stack
) -> dict[str, Outcome]:
    """Runs the scenarios whose tests were selected (all of them in `make test`)."""
    live.rabbitmq.require()  # the queue alerts read RabbitMQ's metrics
    selected = {
        item.callspec.params["scenario"].name
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("scenario"), Scenario)
    }
    faults = Faults(deployment, local_stack)
    results = {}
    try:
        for scenario in SCENARIOS:
            if selected and scenario.name not in selected:
                continue
            began = time.time()
            try:
                outcome = results[scenario.name] = run(live, faults, scenario)
            except AssertionError as exc:  # reported by its own test; the others still run
                results[scenario.name] = Outcome(scenario, time.time(), error=str(exc))
                say(pytestconfig, f"fault: {scenario.name}: {exc}")
                continue
            fired = ", ".join(
                f"{name} after {at - outcome.start:.0f} s"
                for name, at in sorted(outcome.fired.items(), key=lambda kv: kv[1])
            )
            say(
                pytestconfig,
                f"fault: {scenario.name}: {fired or 'nothing fired'}; quiet "
                f"{outcome.end - outcome.repaired:.0f} s after the repair "
                f"({time.time() - began:.0f} s in all)",
            )
    finally:
        for name in list(local_stack.held):  # whatever a failed scenario left stopped
            local_stack.start_process(name)
    return results


# ---- the tests --------------------------------------------------------------------------------
def test_alerts_stay_quiet_through_the_healthy_run(live, healthy_run):
    result = live.server.query_range(
        'ALERTS{alertstate="firing"}', live.started_at, healthy_run.end, SCRAPE_SECONDS
    )
    assert not result, [r["metric"] for r in result]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_each_fault_fires_its_alerts_and_only_those(outcomes, scenario):
    outcome = outcomes[scenario.name]
    assert not outcome.error, outcome.error
    fired = set(outcome.fired)
    missing = scenario.expected - fired
    unexpected = fired - scenario.expected - set(scenario.tolerated)
    assert not missing, f"did not fire within {FIRE_TIMEOUT:.0f}s: {sorted(missing)}"
    assert not unexpected, "fired though this fault is not theirs:\n" + "\n".join(
        f"{name}: {outcome.readings.get(name)}" for name in sorted(unexpected)
    )
    assert outcome.quiet_again, f"still active {QUIET_TIMEOUT:.0f}s after the repair"


def test_every_alert_is_fired_by_a_fault_or_says_why_not(live):
    alerts = {r["alert"] for r in alert_rules(live.groups)}
    covered = set().union(*(s.expected for s in SCENARIOS)) | set(UNIT_TESTED_ONLY)
    assert alerts - covered == set(), f"no scenario fires {sorted(alerts - covered)}"
    assert covered - alerts == set(), f"scenarios name unknown alerts: {sorted(covered - alerts)}"


TARGET_LABELS = {"namespace", "pod", "job", "instance", "service", "container", "endpoint"}


def test_the_unit_tests_series_look_like_the_real_scrape(live, healthy_run):
    """The synthetic series of tests/observability/alerts/ name metrics the stack really
    exports, with label names it really has and values it really uses (target labels and
    RabbitMQ's vhost aside), so that a unit test cannot pass on a series that never exists."""
    if not live.rabbitmq.address:
        live.rabbitmq.require()
    problems = []
    for path in sorted(ALERT_TESTS.glob("*.test.yaml")):
        for group in yaml.safe_load(path.read_text())["tests"]:
            for item in group.get("input_series", []):
                ((name, matchers),) = promql_selectors(item["series"])
                real = live.server.api(
                    "series", **{"match[]": name, "start": live.started_at, "end": time.time()}
                )
                if not real:
                    problems.append(f"{path.name}: {name} is not exported")
                    continue
                for m in matchers:
                    if m.name in TARGET_LABELS:
                        continue
                    values = {s.get(m.name) for s in real}
                    if values == {None}:
                        problems.append(f"{path.name}: {name} has no label {m.name}")
                    elif m.name != "vhost" and m.value not in values:
                        problems.append(f"{path.name}: {name}{{{m.name}={m.value!r}}} never seen")
    assert not problems, "\n".join(sorted(set(problems)))


def test_each_alert_is_pictured_from_its_fault(live, outcomes, pictures_dir):
    """docs/img/alerts/<alert>.png for docs/runbooks.md: the alert's comparisons over its
    scenario, with the pending and firing periods."""
    rules = {r["alert"]: r for r in alert_rules(live.scaled)}
    first: dict[str, Outcome] = {}
    for outcome in outcomes.values():
        if outcome.error:
            continue
        for alert in outcome.scenario.expected:
            first.setdefault(alert, outcome)
    missing = []
    for alert, outcome in sorted(first.items()):
        if alert not in outcome.fired:
            missing.append(alert)
            continue
        start, step = outcome.start - 10, SCRAPE_SECONDS
        end = max(outcome.end, outcome.repaired + 10) + 5
        grid = (start, end, step)
        panels = []
        for lhs, op, threshold in comparisons(rules[alert]["expr"]):
            result = live.server.query_range(lhs, start, end, step)
            panels.append(
                Comparison(lhs, op, threshold, to_series(result, None, outcome.start, grid=grid))
            )
        states = {}
        for state in ("pending", "firing"):
            selector = f'ALERTS{{alertname="{alert}", alertstate="{state}"}}'
            result = live.server.query_range(selector, start, end, step)
            drawn = to_series(result, None, outcome.start, grid=grid)
            states[state] = drawn[0] if drawn else Series(state, [], [])
        render_alert(
            alert,
            panels,
            states,
            (0.0, outcome.repaired - outcome.start),
            pictures_dir / "alerts" / f"{alert.lower()}.png",
            subtitle=f"fault: {outcome.scenario.name} (local stack; `for` and windows "
            f"÷{TIME_SCALE})",
        )
    assert first, "no scenario ran"
    assert not missing, f"no picture, the alert did not fire: {missing}"
