"""Clients and their API keys (writes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from producer.clients.models import ApiKey, Client

KEY_SCHEME = "bf"
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def split_key(raw_key: str) -> tuple[str, str] | None:
    """``bf_<prefix>_<secret>`` -> (prefix, secret), or None when it is not shaped like a key."""
    scheme, _, rest = raw_key.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not prefix or not secret or len(prefix) > 16:
        return None
    return prefix, secret


def api_key_issue(*, client: Client) -> tuple[ApiKey, str]:
    """A new key for the client; the raw key is returned once and never stored."""
    prefix = secrets.token_hex(6)
    raw_key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(client=client, prefix=prefix, key_hash=_hash(raw_key))
    return api_key, raw_key


def client_get_or_create(*, name: str) -> Client:
    client, _created = Client.objects.get_or_create(name=name)
    return client


@transaction.atomic
def client_create_or_add_key(*, name: str) -> tuple[Client, bool, str]:
    """The client named ``name`` (created when missing) and a new raw key for it."""
    client, created = Client.objects.get_or_create(name=name)
    _key, raw_key = api_key_issue(client=client)
    return client, created, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke at once in this process; the others forget it within API_KEY_CACHE_SECONDS."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    _valid_keys.pop(api_key.key_hash, None)


# Keys found valid, by hash, with the time.time() they expire from here: a request then
# costs no query. Revocation (or a client deactivated) takes effect in every process within
# API_KEY_CACHE_SECONDS; unknown keys are never cached.
_valid_keys: dict[str, tuple[float, ApiKey]] = {}
_CACHE_MAX_KEYS = 10_000


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The live key matching ``raw_key`` (its client active), else None."""
    parts = split_key(raw_key)
    if parts is None:
        return None
    digest = _hash(raw_key)
    cached = _valid_keys.get(digest)
    if cached is not None and cached[0] > time.time():
        return cached[1]
    api_key = (
        ApiKey.objects.select_related("client")
        .filter(prefix=parts[0], revoked_at__isnull=True, client__is_active=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        _valid_keys.pop(digest, None)
        return None
    if len(_valid_keys) >= _CACHE_MAX_KEYS:
        _valid_keys.clear()
    _valid_keys[digest] = (time.time() + settings.API_KEY_CACHE_SECONDS, api_key)
    now = timezone.now()
    # One write per key every few minutes, not one per request.
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
