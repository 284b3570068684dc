import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/transactions/"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", "Token local-only-consumer-token", "Bearer", "Bearer a b"],
)
def test_a_missing_or_wrong_token_answers_401(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.post(URL, data=[], content_type="application/json", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_service_token_is_accepted(api):
    response = api.get("/api/v1/transactions/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404  # authenticated: the id is simply unknown


@pytest.mark.parametrize("token", ["new-token", "old-token"])
def test_any_of_the_rotating_tokens_is_accepted(client, settings, token):
    # Given CONSUMER_API_TOKEN=new-token,old-token while the producer's side rotates
    settings.CONSUMER_API_TOKENS = ["new-token", "old-token"]
    # When the producer presents either one
    response = client.get(
        "/api/v1/transactions/00000000-0000-0000-0000-000000000000/",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    # Then it is authenticated (the id is simply unknown)
    assert response.status_code == 404


def test_a_token_no_longer_listed_is_refused(client, settings):
    settings.CONSUMER_API_TOKENS = ["new-token"]
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer old-token")
    assert response.status_code == 401
