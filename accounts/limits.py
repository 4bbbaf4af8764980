"""How often something may happen: a counter per key in the cache, for a window of seconds.

Used for e-mails a stranger could make us send (password resets, address confirmations). The
cache is the process's own unless CACHES names a shared one (Redis), so with several processes
each counts on its own.
"""

from django.core.cache import cache


def over_limit(key: str, *, limit: int, window: int) -> bool:
    """Counts one more for `key`; True once more than `limit` happened within `window` seconds."""
    cache.add(key, 0, window)
    try:
        return cache.incr(key) > limit
    except ValueError:  # the entry expired between add and incr: this is the first of a new window
        cache.set(key, 1, window)
        return False
