"""One Redis client per process: the real server when REDIS_URL is set, else fakeredis.

fakeredis is process-local, which is what the embedded local mode can offer without a
server; state such as velocity windows is then per worker process (documented). It is a
development dependency only: production requires REDIS_URL (``bankflow.base_settings``) and
its images do not contain fakeredis.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=1)
def get_redis() -> Any:
    if settings.REDIS_URL:
        import redis

        return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    if not settings.LOCAL:
        raise ImproperlyConfigured("REDIS_URL must be set when BANKFLOW_ENV=production")
    import fakeredis

    return fakeredis.FakeRedis()
