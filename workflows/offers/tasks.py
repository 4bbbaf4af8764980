"""The offers task: makes the offers of the rules reacting to one event, after the transition
that wrote it has committed and its notifications are built (workflows/notifications/hooks.py)."""

from celery import shared_task

from workflows.notifications.hooks import EVENT_OFFERS_TASK
from workflows.offers.actions import event_offers


@shared_task(name=EVENT_OFFERS_TASK)
def event_offers_task(*, event_id: int, outbox_id: int | None = None) -> int:
    return len(event_offers(event_id=event_id, outbox_id=outbox_id))
