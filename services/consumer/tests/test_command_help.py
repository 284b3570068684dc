import pytest

from bankflow.testing.commands import *  # noqa: F403 - the command tests every service runs


@pytest.fixture
def service():
    return "consumer"
