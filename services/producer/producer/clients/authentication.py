from rest_framework.authentication import BaseAuthentication


class ApiKeyAuthentication(BaseAuthentication):
    """Placeholder until the clients app lands."""

    def authenticate(self, request):
        return None
