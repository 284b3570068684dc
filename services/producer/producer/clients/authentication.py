from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from producer.clients.models import ApiKey, Client
from producer.clients.services import api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <api key>``: request.user is the Client, request.auth the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Client, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # no credentials: IsAuthenticated answers 401 with our header
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header.")
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return api_key.client, api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def request_client(request: Any) -> Client:
    """The authenticated client of a request that passed IsAuthenticated."""
    client = request.user
    if not isinstance(client, Client):
        raise exceptions.NotAuthenticated()
    return client
