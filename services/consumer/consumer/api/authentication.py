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
    """`Authorization: Bearer <CONSUMER_API_TOKEN>` (the producer's service token)."""

    realm = "consumer"
    scheme_name = "ServiceToken"

    def authenticate_token(self, token: str) -> tuple[ServiceUser, None]:
        if not hmac.compare_digest(token.encode(), settings.CONSUMER_API_TOKEN.encode()):
            raise exceptions.AuthenticationFailed("Invalid service token.")
        return ServiceUser(), None
