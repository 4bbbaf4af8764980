"""How often something may happen: a counter per key in the cache, for a window of seconds.

Used for e-mails a person could make us send (password resets, address confirmations, staff
invitations). With REDIS_URL (or CACHE_URL) set, the cache is Redis, shared by every process, so
a limit holds however many web processes answer; `add` and `incr` are atomic there. Without it
(the embedded profile, one process) the cache is that process's memory.

When Redis cannot be reached the limit fails closed: the error propagates before anything is
sent, and the request is answered 503 "try again in a minute" (portal/database_down.py), never
a 500 and never an e-mail nobody counted.
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
