"""The notification task: builds what a batch of events tells people, after the transition
that wrote them has committed (workflows/notifications/hooks.py)."""

from celery import shared_task

from workflows.notifications.hooks import EVENTS_NOTIFY_TASK, events_notify


# Run by the worker whose task wrote the events, right after its commit (workflows/outbox.py):
# it confirms its own outbox row, and a failed or lost run is sent again by the relay.
@shared_task(name=EVENTS_NOTIFY_TASK, run_here_after_commit=True)
def events_notify_task(*, event_ids: list[int], outbox_id: int | None = None) -> int:
    return events_notify(event_ids=event_ids, outbox_id=outbox_id)
