"""The shared cache on Redis, for counters every process must see (accounts/limits.py).

Django's own RedisCache, with one change: `clear()` deletes only this cache's keys (its key
prefix) instead of flushing the whole Redis database, which may also hold the Celery broker's
queues. Tests clear the cache before each test; a flush there would drop queued tasks.
"""

from django.core.cache.backends.redis import RedisCache


class PrefixedRedisCache(RedisCache):
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
