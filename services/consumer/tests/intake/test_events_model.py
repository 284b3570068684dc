"""The audit trail's storage: the helpers append, the database refuses changes."""

import pytest

from bankflow.testing.audit import *  # noqa: F403 - the trail tests every service runs
from bankflow.testing.audit import TrailCase
from consumer.intake import events
from consumer.intake.models import EventKind, Status, TransactionEvent
from tests.factories import ReceivedTransactionFactory


@pytest.fixture
def trail():
    return TrailCase(
        events=events,
        model=TransactionEvent,
        make=ReceivedTransactionFactory,
        first=(EventKind.RECEIVED, Status.RECEIVED),
        step=(EventKind.WEBHOOK_ATTEMPT, Status.PROCESSED, Status.PROCESSED),
    )
