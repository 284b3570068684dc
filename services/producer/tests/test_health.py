import pytest

from bankflow.testing.health import *  # noqa: F403 - the health tests every service runs


@pytest.fixture
def required_checks():
    # The outbox holds new transactions through a broker outage: only the database.
    return ("database",)
