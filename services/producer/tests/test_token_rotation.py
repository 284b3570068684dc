"""CONSUMER_API_TOKEN read from a real environment: with `new,old` the dispatcher presents
the first one (the consumer, started with the same list, accepts either)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import responses

from producer.transactions.outbox import post_to_consumer
from tests.conftest import INTAKE_URL

PROBE = """
import django
django.setup()
from django.conf import settings
print(settings.CONSUMER_API_TOKEN, ",".join(settings.CONSUMER_API_TOKENS))
"""


@pytest.mark.integration
def test_a_producer_started_with_two_tokens_sends_the_first(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "producer.settings",
        "BANKFLOW_LOCAL_DIR": str(tmp_path),
        "CONSUMER_API_TOKEN": "new-token , old-token",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    sent, listed = done.stdout.strip().splitlines()[-1].split()
    assert (sent, listed) == ("new-token", "new-token,old-token")


@responses.activate
def test_the_dispatcher_presents_the_first_token(settings):
    settings.CONSUMER_API_TOKENS = ["new-token", "old-token"]
    settings.CONSUMER_API_TOKEN = "new-token"
    responses.post(INTAKE_URL, status=202, json={"accepted": [], "duplicates": []})
    post_to_consumer([])
    assert responses.calls[0].request.headers["Authorization"] == "Bearer new-token"
