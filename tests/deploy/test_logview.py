"""`make run`'s terminal view of the processes' JSON lines (scripts.logview)."""

from __future__ import annotations

import json

from scripts.logview import format_line
from scripts.stack import process_names


def test_a_structlog_line_becomes_name_time_level_event_and_its_keys():
    line = json.dumps(
        {
            "event": "transaction_dispatched",
            "transaction_id": "3f1c",
            "batch": 3,
            "reason": "two words",
            "level": "info",
            "logger": "producer.outbox",
            "service": "producer",
            "timestamp": "2026-12-02T01:00:52.663456Z",
        }
    )
    assert format_line("producer-worker", line + "\n", width=17) == (
        "producer-worker   | 01:00:52.663 info    transaction_dispatched"
        ' transaction_id=3f1c batch=3 reason="two words"'
    )


def test_nested_values_stay_compact_json():
    line = json.dumps({"event": "x", "level": "warning", "errors": {"0": ["bad"]}})
    assert format_line("w", line) == 'w | warning x errors={"0":["bad"]}'


def test_a_line_that_is_not_a_json_object_keeps_its_text():
    for text in ("Traceback (most recent call last):", "[2026] booting", "42", '"s"', "{oops"):
        assert format_line("consumer-web", text + "\n", width=12) == f"consumer-web | {text}"


def test_every_process_name_fits_the_column():
    names = process_names()
    assert {"producer-web", "consumer-webhooks", "consumer-beat"} <= set(names)
    width = max(map(len, names))
    prefixes = {format_line(n, "x", width=width).index("|") for n in names}
    assert len(prefixes) == 1  # the bars line up


def test_an_exception_is_printed_as_a_traceback_under_the_process_name():
    trace = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: no'
    line = json.dumps({"event": "boom", "level": "error", "exception": trace})
    assert format_line("beat", line).splitlines() == [
        "beat | error   boom",
        "beat | Traceback (most recent call last):",
        'beat |   File "x.py", line 1',
        "beat | ValueError: no",
    ]


def test_json_passes_through_when_not_on_a_terminal_unless_asked():
    import io

    from scripts.stack import wants_pretty

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_pretty("auto", Terminal()) is True
    assert wants_pretty("auto", io.StringIO()) is False  # make run | tee, a log shipper
    assert wants_pretty("json", Terminal()) is False
    assert wants_pretty("pretty", io.StringIO()) is True
