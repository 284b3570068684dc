"""`make run` on a terminal: each process's JSON lines as `name | time level event key=val`.

The processes always log JSON (what a log shipper wants); ``scripts.stack`` pipes them
through ``format_line`` when its stdout is a terminal, and passes them through untouched
otherwise. Lines that are not JSON objects (a traceback, a library's print) keep their text.
"""

from __future__ import annotations

import json
from typing import Any

# Shown in the fixed columns, or said by the process name already.
_FIXED = ("timestamp", "level", "event", "service", "logger", "exception")


def _value(value: Any) -> str:
    if isinstance(value, str):
        return (
            value
            if value and not any(c.isspace() or c in '"=' for c in value)
            else json.dumps(value)
        )
    return json.dumps(value, separators=(",", ":"), default=str)


def format_line(name: str, line: str, *, width: int = 0) -> str:
    """What to print (no final newline) for one line a process wrote."""
    text = line.rstrip("\r\n")
    prefix = f"{name:<{width}} | "
    try:
        record = json.loads(text)
    except ValueError:
        return prefix + text
    if not isinstance(record, dict) or "event" not in record:
        return prefix + text
    stamp = str(record.get("timestamp", ""))
    clock = stamp[11:23] if len(stamp) >= 19 and stamp[10] == "T" else stamp
    level = str(record.get("level", "")).lower()
    extra = " ".join(f"{k}={_value(v)}" for k, v in record.items() if k not in _FIXED)
    parts = [clock, f"{level:<7}", str(record["event"]), extra]
    out = prefix + " ".join(p for p in parts if p).rstrip()
    trace = record.get("exception")
    if trace:  # a traceback reads as one, each of its lines under the process's name
        out += "".join(f"\n{prefix}{row}" for row in str(trace).rstrip().splitlines())
    return out
