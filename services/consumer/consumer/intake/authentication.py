from rest_framework.authentication import BaseAuthentication


class ServiceTokenAuthentication(BaseAuthentication):
    """Placeholder until the intake app lands."""

    def authenticate(self, request):
        return None
