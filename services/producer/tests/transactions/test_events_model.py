"""The audit trail's storage: the helpers append, the database refuses changes."""

import pytest

from bankflow.testing.audit import *  # noqa: F403 - the trail tests every service runs
from bankflow.testing.audit import TrailCase
from producer.transactions import events
from producer.transactions.models import EventKind, Status, TransactionEvent
from tests.factories import TransactionFactory


@pytest.fixture
def trail():
    return TrailCase(
        events=events,
        model=TransactionEvent,
        make=TransactionFactory,
        first=(EventKind.CREATED, Status.PENDING),
        step=(EventKind.DISPATCHED, Status.PENDING, Status.DISPATCHED),
    )
