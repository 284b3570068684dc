import pytest

from producer.clients.models import ApiKey

pytestmark = pytest.mark.django_db


def test_client_and_key_admin_pages_load_and_never_show_a_key(admin_client, api):
    key = ApiKey.objects.get(client=api.tenant)
    pages = [
        "/admin/clients/client/",
        f"/admin/clients/client/{api.tenant.pk}/change/",
        "/admin/clients/apikey/",
        f"/admin/clients/apikey/{key.pk}/change/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        assert api.key.encode() not in response.content
        assert key.key_hash.encode() not in response.content


def test_admin_action_revokes_keys(admin_client, api):
    key = ApiKey.objects.get(client=api.tenant)
    admin_client.post("/admin/clients/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
