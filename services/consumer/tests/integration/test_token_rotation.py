"""CONSUMER_API_TOKEN read from a real environment: a fresh process with `new,old` accepts
both tokens and refuses any other (what a rotation relies on)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

PROBE = """
import json, django
django.setup()
from django.test import RequestFactory
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from consumer.api.authentication import ServiceTokenAuthentication

out = {}
for token in ("new-token", "old-token", "retired-token"):
    request = Request(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    try:
        ServiceTokenAuthentication().authenticate(request)
        out[token] = "accepted"
    except AuthenticationFailed:
        out[token] = "refused"
print(json.dumps(out))
"""


def test_a_consumer_started_with_two_tokens_accepts_both_and_no_other(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "consumer.settings",
        "BANKFLOW_LOCAL_DIR": str(tmp_path),
        "CONSUMER_API_TOKEN": "new-token, old-token",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    verdicts = json.loads(done.stdout.strip().splitlines()[-1])
    assert verdicts == {
        "new-token": "accepted",
        "old-token": "accepted",
        "retired-token": "refused",
    }
