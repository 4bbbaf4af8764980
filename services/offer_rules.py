"""Which services' events have proactive offer rules (免申即享), cached.

The notification task asks this for every event it handles, so the answer must cost no query
in the usual case: it is kept in the shared cache and forgotten whenever a rule changes (the
admin and the demo loader call `offer_triggers_forget`). A change made some other way is seen
within TRIGGERS_SECONDS at the latest.
"""

from django.core.cache import cache

from services.models import OfferRule

TRIGGERS_KEY = "services:offer-triggers:v1"
TRIGGERS_SECONDS = 300


def offer_triggers() -> frozenset[tuple[int, str]]:
    """(service id, event kind) of every active rule with at least one service to offer."""
    cached = cache.get(TRIGGERS_KEY)
    if cached is not None:
        return frozenset(tuple(pair) for pair in cached)
    pairs = frozenset(
        OfferRule.objects.filter(active=True, entries__isnull=False)
        .values_list("trigger_service_id", "trigger_event")
        .distinct()
    )
    cache.set(TRIGGERS_KEY, sorted(pairs), TRIGGERS_SECONDS)
    return pairs


def offer_triggers_forget() -> None:
    cache.delete(TRIGGERS_KEY)
