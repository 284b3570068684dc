"""Bearer-token authentication for both APIs, and how it shows in the OpenAPI schema.

Kept apart from ``bankflow.api``: DRF imports the authentication classes while it loads
its own views, so this module must not import ``rest_framework.views``.
"""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``; subclasses say what a token is worth.

    No Authorization header (or another scheme) is "not authenticated", which IsAuthenticated
    answers with a 401 and ``WWW-Authenticate: Bearer``; a malformed or wrong token is a 401.
    """

    realm = "api"
    scheme_name = "Bearer"  # its name in the OpenAPI schema's securitySchemes

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return self.authenticate_token(token)

    def authenticate_token(self, token: str) -> tuple[Any, Any]:
        """(user, auth) for a valid token; AuthenticationFailed otherwise."""
        raise NotImplementedError

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.realm}"'


class BearerScheme(OpenApiAuthenticationExtension):
    """Every BearerAuthentication in the OpenAPI schema, named by its ``scheme_name`` and
    described by its docstring."""

    target_class = BearerAuthentication
    match_subclasses = True

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        self.name = str(target.scheme_name)

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": inspect.getdoc(self.target) or "",
        }
