from __future__ import annotations

from typing import Any

from rest_framework import exceptions

from bankflow.authentication import BearerAuthentication
from producer.clients.models import ApiKey, Client
from producer.clients.services import api_key_authenticate


class ApiKeyAuthentication(BearerAuthentication):
    """`Authorization: Bearer <api key>` (see `create_client`): request.user is the Client,
    request.auth the ApiKey."""

    scheme_name = "ApiKey"

    def authenticate_token(self, token: str) -> tuple[Client, ApiKey]:
        api_key = api_key_authenticate(raw_key=token)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return api_key.client, api_key


def request_client(request: Any) -> Client:
    """The authenticated client of a request that passed IsAuthenticated."""
    client = request.user
    if not isinstance(client, Client):
        raise exceptions.NotAuthenticated()
    return client
