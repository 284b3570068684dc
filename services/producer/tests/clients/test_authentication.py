import pytest
from django.utils import timezone

from producer.clients.models import ApiKey
from producer.clients.services import api_key_revoke, client_create_or_add_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/transactions/"


def test_a_valid_key_authenticates_its_client(api):
    response = api.get(URL)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer bf_000000000000_wrong",
        "Bearer not-a-key",
        "Bearer two parts",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_missing_or_wrong_key_is_401_with_www_authenticate(client, db, header):
    # Given a request without a valid key
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    # When it lists transactions
    response = client.get(URL, **extra)
    # Then it is refused with 401 and a challenge
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail", "code"}


def test_right_prefix_wrong_secret_is_401(api, client):
    prefix = api.key.split("_")[1]
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer bf_{prefix}_forged")
    assert response.status_code == 401


def test_revoked_key_is_401(api):
    api_key_revoke(api_key=ApiKey.objects.get(client=api.tenant))
    assert api.get(URL).status_code == 401


def test_inactive_client_is_401(api):
    api.tenant.is_active = False
    api.tenant.save()
    assert api.get(URL).status_code == 401


def test_keys_are_stored_hashed_and_last_use_is_recorded(api):
    api.get(URL)
    stored = ApiKey.objects.get(client=api.tenant)
    assert api.key not in (stored.key_hash, stored.prefix)
    assert len(stored.key_hash) == 64
    assert stored.last_used_at is not None
    assert stored.last_used_at <= timezone.now()


def test_a_rotated_key_and_the_old_one_both_work_until_revoked(api, client):
    # Given a second key for the same client
    _client, created, new_key = client_create_or_add_key(name=api.tenant.name)
    assert created is False
    # Then both authenticate as the same client
    assert api.get(URL).status_code == 200
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {new_key}").status_code == 200
    # And revoking the old one leaves the new one working
    old = ApiKey.objects.filter(client=api.tenant).order_by("created_at").first()
    api_key_revoke(api_key=old)
    assert api.get(URL).status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {new_key}").status_code == 200


def test_a_known_key_costs_no_query_within_the_cache_window(api, django_assert_num_queries):
    assert api.get(URL + "?limit=1").status_code == 200  # looked up once, then remembered
    from producer.clients.services import api_key_authenticate

    with django_assert_num_queries(0):
        assert api_key_authenticate(raw_key=api.key) is not None


def test_a_revocation_elsewhere_takes_effect_within_the_cache_window(api, settings, time_machine):
    # Given a key this process has just seen, and a cache window of 10 s
    settings.API_KEY_CACHE_SECONDS = 10
    time_machine.move_to(timezone.now(), tick=False)
    assert api.get(URL).status_code == 200
    # When another process revokes it (a plain UPDATE: this process's memory is not told)
    ApiKey.objects.filter(client=api.tenant).update(revoked_at=timezone.now())
    # Then it still works until the window has passed, and never after
    time_machine.shift(9)
    assert api.get(URL).status_code == 200
    time_machine.shift(2)
    assert api.get(URL).status_code == 401


def test_revoking_in_this_process_takes_effect_at_once(api):
    assert api.get(URL).status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(client=api.tenant))
    assert api.get(URL).status_code == 401


def test_last_use_is_written_at_most_every_few_minutes_never_per_request(
    api, settings, time_machine
):
    # Given a key used once (a cache window of 10 s)
    settings.API_KEY_CACHE_SECONDS = 10
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    assert api.get(URL).status_code == 200
    first = ApiKey.objects.get(client=api.tenant).last_used_at
    assert first == start
    # When it is used again after the cache window, but within five minutes
    time_machine.shift(60)
    assert api.get(URL).status_code == 200
    # Then its last use is not written again
    assert ApiKey.objects.get(client=api.tenant).last_used_at == first
    # And after five minutes it is
    time_machine.shift(300)
    assert api.get(URL).status_code == 200
    assert ApiKey.objects.get(client=api.tenant).last_used_at > first
