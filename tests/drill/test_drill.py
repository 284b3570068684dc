"""The short failover drill (`make test`): 2 minutes of load, two faults, nothing lost.

It runs ``scripts.drill --short`` as its own process, as `make drill` does: private
PostgreSQL, Redis and RabbitMQ on free ports (never the machine's shared servers), the
whole stack on them, then a consumer worker SIGKILLed and PostgreSQL restarted under load.
The drill itself asserts what must hold and exits 1 otherwise; this test reads its
results too, so that a drill that proved nothing cannot pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from scripts.drill import SHORT_FAULTS
from scripts.servers import missing
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    bool(missing()),
    reason=f"the drill starts private servers; not installed here: {', '.join(missing())}",
)
BUDGET_SECONDS = 230  # the short drill must stay under 4 minutes in all


def _stop_leftovers(out):
    """If the drill was killed, its private servers may be left: stop them by their pid."""
    pids = out / "servers.pids"
    if not pids.exists():
        return
    for pid in pids.read_text().split():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(pid), signal.SIGKILL)


@pytest.mark.timeout(BUDGET_SECONDS + 90)
def test_the_short_drill_loses_nothing_and_explains_every_error():
    out = ROOT / ".local" / "drill" / f"short-{datetime.now(tz=UTC):%Y%m%dT%H%M%SZ}"
    started = time.monotonic()
    drill = subprocess.Popen(
        [sys.executable, "-m", "scripts.drill", "--short", "--out", str(out)], cwd=ROOT
    )
    try:
        code = drill.wait(timeout=BUDGET_SECONDS)
    except subprocess.TimeoutExpired:
        drill.send_signal(signal.SIGTERM)  # its handlers heal and stop everything it started
        try:
            drill.wait(timeout=60)
        except subprocess.TimeoutExpired:
            drill.kill()
        _stop_leftovers(out)
        pytest.fail(f"the short drill took more than {BUDGET_SECONDS} s; see {out}")
    finally:
        if drill.poll() is None:
            drill.kill()
    elapsed = time.monotonic() - started
    results = json.loads((out / "results.json").read_text())
    assert code == 0, f"the drill failed: {results['violations']}; see {out / 'report.md'}"
    assert results["passed"] and not results["violations"]
    assert [f["name"] for f in results["faults"]] == list(SHORT_FAULTS)
    assert all(not f["heal_error"] for f in results["faults"])
    proof = results["proof"]
    assert proof["accepted"] >= 1000  # two minutes at the default rate, bulk included
    assert proof["lost"] == 0 and proof["ledger_legs_twice"] == 0 and proof["ledger_balanced"]
    assert proof["reconciliation"]["matched"]
    assert (out / "report.md").exists() and (out / "timeline.png").stat().st_size > 10_000
    assert elapsed < BUDGET_SECONDS
