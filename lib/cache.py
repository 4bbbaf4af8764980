"""The shared cache on Redis, for counters every process must see (accounts/limits.py).

Django's own RedisCache, with two changes:

- `clear()` deletes only this cache's keys (its key prefix) instead of flushing the whole Redis
  database, which may also hold the Celery broker's queues. Tests clear the cache before each
  test; a flush there would drop queued tasks.
- a read while Redis cannot be reached is a miss (logged), so what only reads the cache (the
  calendar's version, workflows/models/calendar.py) keeps working through a Redis outage, and a
  submission still commits. Writes still fail: a rate limit that cannot count refuses
  (accounts/limits.py), and the request is answered 503 (portal/database_down.py).
"""

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class PrefixedRedisCache(RedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except UNREACHABLE as exc:
            logger.warning("cache unavailable: read treated as a miss error=%s", type(exc).__name__)
            return default

    def clear(self) -> None:
        client = self._cache.get_client(None, write=True)
        batch: list = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
