"""The producer authenticates with the shared service token (``CONSUMER_API_TOKEN``)."""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import exceptions

from bankflow.authentication import BearerAuthentication


class ServiceUser:
    """The producer service: authenticated, but no Django user and no permissions."""

    is_authenticated = True
    is_anonymous = False
    username = "producer"

    def __str__(self) -> str:
        return self.username


class ServiceTokenAuthentication(BearerAuthentication):
    """`Authorization: Bearer <CONSUMER_API_TOKEN>` (the producer's service token; any of
    the comma-separated tokens while one rotates)."""

    realm = "consumer"
    scheme_name = "ServiceToken"

    def authenticate_token(self, token: str) -> tuple[ServiceUser, None]:
        given = token.encode()
        # Every token is compared, so the time taken does not tell which one came close.
        matches = [hmac.compare_digest(given, t.encode()) for t in settings.CONSUMER_API_TOKENS]
        if not any(matches):
            raise exceptions.AuthenticationFailed("Invalid service token.")
        return ServiceUser(), None
