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


def call(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def columns(line: str) -> list[str]:
    """list_keys' fixed-width columns: prefix, created, last used, revoked."""
    return [line[:14].strip(), line[14:32].strip(), line[32:50].strip(), line[50:].strip() or "-"]


def test_list_keys_shows_each_keys_prefix_and_last_use_never_the_key(client):
    # Given a client with two keys, one of them used
    first = run("acme").strip().splitlines()[-1]
    second = run("acme").strip().splitlines()[-1]
    client.get("/api/v1/transactions/", HTTP_AUTHORIZATION=f"Bearer {first}")
    # When its keys are listed
    lines = call("list_keys", "acme").strip().splitlines()
    # Then one line per key, newest first, with its prefix; only the used one has a last use
    assert lines[0].split()[:2] == ["prefix", "created"]
    rows = [columns(line) for line in lines[1:]]
    assert [r[0] for r in rows] == [second.split("_")[1], first.split("_")[1]]
    assert rows[0][2:] == ["-", "-"]  # never used, not revoked
    assert rows[1][2] != "-" and rows[1][3] == "-"  # used, not revoked
    assert first not in "\n".join(lines) and second not in "\n".join(lines)


def test_list_keys_of_an_unknown_client_is_an_error():
    with pytest.raises(CommandError, match="No client named 'nobody'"):
        call("list_keys", "nobody")


def test_revoke_key_by_prefix_refuses_the_key_and_leaves_the_others(client):
    # Given a client with an old and a new key
    old = run("acme").strip().splitlines()[-1]
    new = run("acme").strip().splitlines()[-1]
    assert (
        client.get("/api/v1/transactions/", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 200
    )
    # When the old one is revoked by its prefix
    output = call("revoke_key", old.split("_")[1])
    # Then it is refused at once here, the new one still works, and the listing says when
    assert "Revoked key" in output
    assert (
        client.get("/api/v1/transactions/", HTTP_AUTHORIZATION=f"Bearer {old}").status_code == 401
    )
    assert (
        client.get("/api/v1/transactions/", HTTP_AUTHORIZATION=f"Bearer {new}").status_code == 200
    )
    revoked = ApiKey.objects.get(prefix=old.split("_")[1]).revoked_at
    assert revoked is not None
    listed = {columns(line)[0]: columns(line) for line in call("list_keys", "acme").splitlines()}
    assert listed[old.split("_")[1]][3] == f"{revoked:%Y-%m-%d %H:%M}"
    # And revoking it again changes nothing
    assert "already revoked" in call("revoke_key", old)
    assert ApiKey.objects.get(prefix=old.split("_")[1]).revoked_at == revoked


def test_revoke_key_of_an_unknown_prefix_is_an_error():
    with pytest.raises(CommandError, match="No API key with prefix"):
        call("revoke_key", "000000000000")
