"""Schemathesis against both running services: what their OpenAPI schemas say is what they do.

Property-based requests (valid and invalid, from the schema's own examples and generated),
each answer checked: no 5xx, only documented status codes, bodies and headers matching the
documented schemas, invalid input refused, valid input accepted. The stack is the one
``tests/conftest.py`` starts (or the deployment ``PRODUCER_URL`` names); requests create
transactions in its databases, which are the test run's own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Deployment

LOCAL = Path(__file__).resolve().parents[2] / ".local"
LOG_DIR = LOCAL / "e2e-logs"
WORK_DIR = LOCAL / "schemathesis"
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))

# Every check schemathesis has runs (`--checks all`) except these, each with its reason.
CHECKS_OFF: dict[str, str] = {
    "positive_data_acceptance": "a body the schema allows is often one the API must refuse, "
    "by rules JSON Schema cannot state: IBAN check digits, active ISO 4217 codes, minor units "
    "per currency, source and destination differing, the accounts each type takes (the "
    "schema states these in words; tests/e2e proves valid bodies are accepted).",
}

# Kept to about a minute per service on a 2-core machine.
MAX_EXAMPLES = 25


def run_schemathesis(base_url: str, token: str) -> subprocess.CompletedProcess:
    command = [
        SCHEMATHESIS,
        "run",
        f"{base_url}/api/schema/?format=json",
        "--url",
        base_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "13",
        # One worker: CPython 3.11's ast module is not thread-safe (gh-106905, "AST
        # constructor recursion depth mismatch"), and hypothesis parses sources to name
        # its filters; two workers crashed the coverage phase with it here.
        "--workers",
        "1",
        "--request-timeout",
        "30",
    ]
    if CHECKS_OFF:
        command += ["--exclude-checks", ",".join(CHECKS_OFF)]
    # Its cache (.schemathesis/, replaying earlier finds) lives under .local, never in the tree.
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=WORK_DIR
    )


@pytest.mark.parametrize("service", ["producer", "consumer"])
def test_each_service_does_what_its_schema_says(deployment: Deployment, service):
    if service == "producer":
        base_url, token = deployment.producer_url, deployment.api_key
    else:
        base_url, token = deployment.consumer_url, deployment.consumer_token or ""
    result = run_schemathesis(base_url, token)
    output = result.stdout + result.stderr
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / f"schemathesis-{service}.txt").write_text(output)
    assert result.returncode == 0, output[-20000:]
    # It ran for real: every operation, hundreds of cases, no check left silently unused.
    (generated,) = re.findall(r"(\d+) generated", output)
    assert int(generated) >= 100, output[-5000:]
    assert re.search(r"Operations:\s+(\d+) selected / \1 total", output), output[:2000]
