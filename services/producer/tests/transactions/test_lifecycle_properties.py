"""Random operation sequences (hypothesis stateful) against the real services and API:
whatever the order of creates, changes, cancels, retries, dispatches that succeed, fail or
are refused, and results that overtake the dispatcher, a transaction and its outbox rows
only ever take the transitions of their tables, and a pending transaction is never left
without a row that will dispatch it."""

from __future__ import annotations

import uuid

import pytest
import requests
import responses
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from producer.transactions.models import OutboxMessage, OutboxState, Status, Transaction
from producer.transactions.outbox import outbox_dispatch_batch
from producer.transactions.services import transaction_apply_results
from producer.transactions.states import OUTBOX_STATES, TRANSACTION_STATES
from tests.conftest import INTAKE_URL, _api_for
from tests.factories import transfer

LIVE = {OutboxState.PENDING, OutboxState.IN_FLIGHT}
URL = "/api/v1/transactions/"


class Lifecycle(RuleBasedStateMachine):
    transactions = Bundle("transactions")

    def __init__(self) -> None:
        super().__init__()
        self.api = _api_for(f"prop-{uuid.uuid4().hex[:8]}")
        self.status: dict[str, str] = {}
        self.outbox: dict[int, str] = {}

    # --- operations ------------------------------------------------------------------
    @rule(target=transactions)
    def create(self) -> str:
        response = self.api.post(URL, transfer(), format="json")
        assert response.status_code == 201
        return str(response.json()["id"])

    @rule(tx=transactions)
    def change(self, tx: str) -> None:
        before = self._current(tx)
        response = self.api.patch(f"{URL}{tx}/", {"description": "changed"}, format="json")
        assert response.status_code in (200, 409)
        if response.status_code == 200:
            assert before == Status.PENDING

    @rule(tx=transactions)
    def cancel(self, tx: str) -> None:
        before = self._current(tx)
        response = self.api.delete(f"{URL}{tx}/")
        assert response.status_code in (204, 409)
        if response.status_code == 204:
            assert before == Status.PENDING
        elif before == Status.PENDING:  # refused only while a dispatch is in flight
            assert self._live_rows(tx, {OutboxState.IN_FLIGHT})

    @rule(tx=transactions)
    def retry(self, tx: str) -> None:
        before = self._current(tx)
        response = self.api.post(f"{URL}{tx}/retry/")
        assert response.status_code in (202, 409)
        assert (response.status_code == 202) == (before == Status.FAILED)

    @rule(answer=st.sampled_from([202, 500, 400, "error"]))
    def dispatch(self, answer: int | str) -> None:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as consumer:
            if answer == "error":
                consumer.post(INTAKE_URL, body=requests.ConnectionError("consumer down"))
            elif answer == 400:  # the whole batch refused (no item index)
                consumer.post(INTAKE_URL, status=400, json={"detail": "no", "code": "invalid"})
            else:
                consumer.post(INTAKE_URL, status=answer, json={"accepted": [], "duplicates": []})
            outbox_dispatch_batch(batch_size=10)

    @rule(tx=transactions, status=st.sampled_from([Status.PROCESSED, Status.FAILED]))
    def result(self, tx: str, status: str) -> None:
        item = {"transaction_id": uuid.UUID(tx), "status": status}
        item |= (
            {"result": {"decision": "approved"}}
            if status == Status.PROCESSED
            else {"reason": "declined by the consumer"}
        )
        transaction_apply_results(results=[item])  # type: ignore[list-item]

    # --- what must always hold ------------------------------------------------------------
    @invariant()
    def only_allowed_transitions(self) -> None:
        for tx in Transaction.objects.filter(client__name=self.api.tenant.name):
            key, now = str(tx.id), str(tx.status)
            before = self.status.get(key, Status.PENDING)
            assert now == before or TRANSACTION_STATES.can(before, now), f"{before} -> {now}"
            self.status[key] = now
        for row in OutboxMessage.objects.filter(transaction__client__name=self.api.tenant.name):
            before = self.outbox.get(row.id, OutboxState.PENDING)
            # one dispatch claims a row and settles it: pending -> in_flight -> sent|pending|failed
            assert (
                row.state == before
                or OUTBOX_STATES.can(before, row.state)
                or (
                    OUTBOX_STATES.can(before, OutboxState.IN_FLIGHT)
                    and OUTBOX_STATES.can(OutboxState.IN_FLIGHT, row.state)
                )
            ), (before, row.state)
            self.outbox[row.id] = row.state

    @invariant()
    def a_pending_transaction_has_exactly_one_row_that_will_send_it(self) -> None:
        for tx in Transaction.objects.filter(client__name=self.api.tenant.name):
            live = self._live_rows(str(tx.id), LIVE)
            assert len(live) <= 1, f"{tx.status} with {len(live)} live rows"
            if tx.status == Status.PENDING:
                assert len(live) == 1, "pending, but nothing will dispatch it"

    # --- helpers ---------------------------------------------------------------------------
    def _current(self, tx: str) -> str:
        return str(Transaction.objects.get(id=tx).status)

    def _live_rows(self, tx: str, states: set[str]) -> list[OutboxMessage]:
        return list(OutboxMessage.objects.filter(transaction_id=tx, state__in=states))


@pytest.mark.django_db
def test_random_operation_sequences_never_reach_an_illegal_state(settings):
    # Given a dispatcher that backs off by nothing and gives up after two attempts
    settings.DISPATCH_BACKOFF_BASE_SECONDS = 0
    settings.DISPATCH_BACKOFF_MAX_SECONDS = 0
    settings.DISPATCH_MAX_ATTEMPTS = 2
    # When random sequences of operations run, then every invariant holds after each step
    run_state_machine_as_test(
        Lifecycle,
        settings=hypothesis_settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
