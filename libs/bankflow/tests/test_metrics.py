from prometheus_client import CollectorRegistry, Counter, generate_latest

from bankflow.metrics import initialise


def test_initialise_exports_every_label_combination_at_zero():
    registry = CollectorRegistry()
    counter = Counter("x_events", "events", ["status", "decision"], registry=registry)
    initialise(counter, status=("processed", "failed"), decision=("approved", "none"))
    text = generate_latest(registry).decode()
    for status in ("processed", "failed"):
        for decision in ("approved", "none"):
            assert f'x_events_total{{decision="{decision}",status="{status}"}} 0.0' in text
