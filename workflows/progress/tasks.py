"""Thin Celery tasks for notifications and reminders: load by id, call one function."""

from celery import shared_task

from workflows.notifications.deliveries import deliveries_retry_due, delivery_send
from workflows.outbox import outbox_confirm
from workflows.progress.actions import rating_follow_ups_remind
from workflows.progress.rollups import rollups_check, rollups_refresh


@shared_task(name="workflows.progress.deliver")
def deliver(*, delivery_id: int, outbox_id: int | None = None) -> str:
    outcome = delivery_send(delivery_id=delivery_id)
    outbox_confirm(outbox_id)
    return outcome


@shared_task(name="workflows.progress.retry_deliveries")
def retry_deliveries() -> int:
    return deliveries_retry_due()


@shared_task(name="workflows.progress.rating_follow_ups_remind")
def rating_follow_ups_remind_task() -> dict[str, int]:
    result = rating_follow_ups_remind()
    return {"reminded": result.reminded, "overdue": result.overdue}


@shared_task(name="workflows.progress.rollups_refresh")
def rollups_refresh_task() -> dict[str, object]:
    result = rollups_refresh()
    return {"days": [day.isoformat() for day in result.days], "busy": result.busy}


@shared_task(name="workflows.progress.rollups_check")
def rollups_check_task() -> int:
    """Daily: every rollup against the raw data; drift is logged, counted and repaired."""
    return len(rollups_check(repair=True))
