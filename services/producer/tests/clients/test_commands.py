from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from producer.clients.models import ApiKey, Client

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_client", *args, stdout=out)
    return out.getvalue()


def test_create_client_prints_the_new_key_last(client):
    # When a client is created
    output = run("acme")
    key = output.strip().splitlines()[-1]
    # Then the last line is a working key, stored only as a hash
    assert key.startswith("bf_")
    assert Client.objects.filter(name="acme").exists()
    assert not ApiKey.objects.filter(key_hash=key).exists()
    response = client.get("/api/v1/transactions/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200


def test_running_it_again_adds_a_key_to_the_same_client():
    first = run("acme").strip().splitlines()[-1]
    second = run("acme").strip().splitlines()[-1]
    assert first != second
    assert Client.objects.filter(name="acme").count() == 1
    assert ApiKey.objects.filter(client__name="acme").count() == 2


def test_a_name_too_long_is_refused():
    with pytest.raises(CommandError):
        run("x" * 101)
