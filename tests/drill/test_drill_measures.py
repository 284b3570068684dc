"""How the drill judges what clients saw and what each fault cost, on made-up runs."""

from __future__ import annotations

import pytest

from scripts.drill import SETTLE_SECONDS, Call, Drill, FaultRun, parse_args


@pytest.fixture
def drill(tmp_path):
    made = Drill(parse_args(["--warmup", "30", "--every", "30", "--duration", "90"]), tmp_path)
    made.faults = [
        FaultRun("worker-kill", "", start=30.0, end=31.0, slot_end=60.0),
        FaultRun("postgresql", "", start=60.0, end=61.0, slot_end=90.0),
    ]
    return made


def test_an_error_belongs_to_the_fault_in_progress_and_none_outside(drill):
    during = Call(sent=60.5, seconds=0.1, items=1, status=500)
    overlapping_both = Call(sent=44.0, seconds=20.0, items=1, status=None, error="ReadTimeout")
    settling = Call(sent=61.0 + SETTLE_SECONDS - 1, seconds=0.1, items=1, status=503)
    before = Call(sent=10.0, seconds=0.1, items=1, status=500)
    long_after = Call(sent=61.0 + SETTLE_SECONDS + 1, seconds=0.1, items=1, status=502)
    assert drill.fault_at(during).name == "postgresql"
    assert drill.fault_at(overlapping_both).name == "postgresql"  # the latest one
    assert drill.fault_at(settling).name == "postgresql"
    assert drill.unexplained(before) and drill.unexplained(long_after)
    assert not drill.unexplained(Call(sent=10.0, seconds=0.1, items=1, status=201))


def test_recovery_is_the_end_of_the_last_slow_window_and_backlog_is_read_after_healing(drill):
    # normal: 0.2 s end to end; after the first fault, 3 s for 10 s, then normal again
    txs = [(f"w{i}", "processed", 5 + i * 0.1, 5 + i * 0.1 + 0.2) for i in range(240)]
    txs += [(f"a{i}", "processed", 30 + i * 0.1, 30 + i * 0.1 + 3) for i in range(100)]
    txs += [(f"b{i}", "processed", 40 + i * 0.1, 40 + i * 0.1 + 0.1) for i in range(160)]
    # created just before the next fault, and caught by it in flight
    txs += [(f"c{i}", "processed", 56 + i * 0.1, 62.0) for i in range(40)]
    txs += [(f"d{i}", "processed", 60 + i * 0.1, 60 + i * 0.1 + 0.1) for i in range(300)]
    drill.backlog = [(float(t), 100 - t if 30 <= t <= 60 else 5, 0) for t in range(90)]
    drill.calls = [Call(sent=60.2, seconds=0.1, items=1, status=500)]
    baseline = drill.measure(txs)
    assert baseline["latency_p99_ms"] == pytest.approx(200, abs=1)
    kill, postgres = drill.faults
    assert kill.recovery_s == 10 and kill.recovered
    assert kill.backlog_peak == 70 and kill.backlog_at_heal == 69 and kill.backlog_at_slot_end == 40
    assert kill.client_errors == 0 and kill.error_window is None
    assert postgres.client_errors == 1 and postgres.errors_by_kind == {"500": 1}
    assert postgres.recovery_s == 0


def test_a_fault_still_slow_when_its_minute_ends_is_not_recovered(drill):
    txs = [(f"w{i}", "processed", 5 + i * 0.1, 5 + i * 0.1 + 0.2) for i in range(240)]
    txs += [(f"a{i}", "processed", 30 + i * 0.1, 30 + i * 0.1 + 3) for i in range(300)]
    drill.measure(txs)
    assert not drill.faults[0].recovered
    assert drill.faults[0].recovery_s == 25  # the last 5 s belong to the next fault


def test_the_short_drill_is_two_minutes_with_two_faults():
    args = parse_args(["--short"])
    assert args.duration == 120 and len(args.faults) == 2
    with pytest.raises(SystemExit):
        parse_args(["--faults", "worker-kill,meteor"])


def test_latency_is_read_on_single_posts_only(drill):
    drill.calls = [
        Call(sent=1.0, seconds=0.1, items=1, status=201, ids=["s1"]),
        Call(sent=1.0, seconds=0.5, items=2, status=201, ids=["b1", "b2"]),
        Call(sent=2.0, seconds=0.1, items=1, status=500),
    ]
    txs = [(i, "processed", 1.0, 2.0) for i in ("s1", "b1", "b2", "unknown")]
    assert [tx[0] for tx in drill.singles(txs)] == ["s1"]
