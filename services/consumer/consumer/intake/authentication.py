"""The producer authenticates with the shared service token (``CONSUMER_API_TOKEN``)."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


class ServiceUser:
    """The producer service: authenticated, but no Django user and no permissions."""

    is_authenticated = True
    is_anonymous = False
    username = "producer"

    def __str__(self) -> str:
        return self.username


class ServiceTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[ServiceUser, None] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # not ours: IsAuthenticated answers 401 (schema and docs stay open)
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization: Bearer <service token>.")
        expected = settings.CONSUMER_API_TOKEN.encode()
        if not hmac.compare_digest(parts[1], expected):
            raise exceptions.AuthenticationFailed("Invalid service token.")
        return ServiceUser(), None

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) with a WWW-Authenticate header.
        return 'Bearer realm="consumer"'
