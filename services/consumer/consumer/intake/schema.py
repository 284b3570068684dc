"""OpenAPI: how ServiceTokenAuthentication looks in the schema (imported by ready())."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ServiceTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "consumer.intake.authentication.ServiceTokenAuthentication"
    name = "ServiceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <CONSUMER_API_TOKEN>` (the producer's).",
        }
