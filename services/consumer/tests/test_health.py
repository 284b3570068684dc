import pytest

from bankflow.testing.health import *  # noqa: F403 - the health tests every service runs


@pytest.fixture
def required_checks():
    # Intake stores and enqueues: it needs both.
    return ("database", "broker")
