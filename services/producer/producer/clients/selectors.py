"""Clients and their API keys (reads)."""

from __future__ import annotations

from django.db.models import QuerySet

from bankflow.errors import NotFound
from producer.clients.models import ApiKey, Client


def client_get(*, name: str) -> Client:
    client = Client.objects.filter(name=name).first()
    if client is None:
        raise NotFound(f"No client named {name!r}.")
    return client


def api_key_list(*, client: Client) -> QuerySet[ApiKey]:
    """The client's keys, newest first, revoked ones included."""
    return ApiKey.objects.filter(client=client).order_by("-created_at", "-id")


def api_key_get(*, prefix: str) -> ApiKey:
    """The key with this prefix; a whole key (``bf_<prefix>_…``) names its prefix too."""
    if prefix.startswith("bf_"):
        prefix = prefix.split("_")[1]
    api_key = ApiKey.objects.select_related("client").filter(prefix=prefix).first()
    if api_key is None:
        raise NotFound(f"No API key with prefix {prefix!r}.")
    return api_key
