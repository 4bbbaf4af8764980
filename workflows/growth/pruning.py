"""Pruning what is done with, in small batches: each batch is one short transaction that deletes
at most `batch` rows found through an index, so no lock is held long and the queue, the relay
and the inbox keep going while it runs. Settings (days, from the environment; 0 keeps forever):

- OUTBOX_RETENTION_DAYS: outbox rows whose task confirmed it ran. Once confirmed, a row is
  never read again (the relay, /healthz and the metrics read unconfirmed rows only); the days
  kept are for an operator looking into a recent incident.
- NOTIFICATION_DELIVERY_RETENTION_DAYS: deliveries that finished (sent, or failed for good);
  the notification itself stays in the person's inbox.
- NOTIFICATION_RETENTION_DAYS: notifications older than this, with no delivery still to make,
  leave the inbox. The application's timeline (its events, kept for good) still says what
  happened; a notification is the message that told the person.

Never application events nor data-access records: they are evidence (partitions.py).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from workflows.models import Notification, NotificationDelivery, OutboxMessage

logger = logging.getLogger(__name__)

FINISHED = (NotificationDelivery.State.SENT, NotificationDelivery.State.FAILED)
UNFINISHED = (
    NotificationDelivery.State.PENDING,
    NotificationDelivery.State.SENDING,
    NotificationDelivery.State.RETRYING,
)


@dataclass(frozen=True)
class PruneResult:
    outbox: int = 0
    deliveries: int = 0
    notifications: int = 0
    # False when a run stopped at its time budget with old rows left (the next run goes on).
    complete: bool = True


def _in_batches(queryset: models.QuerySet, *, batch: int, deadline: float) -> tuple[int, bool]:
    """Deletes the queryset's rows `batch` at a time, each batch its own transaction, until none
    is left or the deadline (time.monotonic()) passes. Returns (deleted, complete)."""

    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by().values_list("pk", flat=True)[:batch])
            if ids:
                # Django's delete() removes dependent rows (a notification's deliveries) first.
                queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch:
            return deleted, True
        if time.monotonic() >= deadline:
            return deleted, False


def _cutoff(days: int, now: datetime) -> datetime | None:
    return None if days <= 0 else now - timedelta(days=days)


def growth_prune(*, now: datetime | None = None, batch: int = 1000, max_seconds: float = 60.0) -> PruneResult:
    """Prunes confirmed outbox rows, finished deliveries and old notifications past their
    retention (settings above). Idempotent; a run that reaches `max_seconds` stops between
    batches and says so (`complete=False`)."""

    now = now or timezone.now()
    deadline = time.monotonic() + max_seconds
    counts = {"outbox": 0, "deliveries": 0, "notifications": 0}
    complete = True

    outbox_cutoff = _cutoff(settings.OUTBOX_RETENTION_DAYS, now)
    if outbox_cutoff is not None:
        # Index outbox_confirmed (confirmed_at, only the confirmed rows).
        outbox = OutboxMessage.objects.filter(confirmed_at__isnull=False, confirmed_at__lt=outbox_cutoff)
        counts["outbox"], complete = _in_batches(outbox, batch=batch, deadline=deadline)

    delivery_cutoff = _cutoff(settings.NOTIFICATION_DELIVERY_RETENTION_DAYS, now)
    if complete and delivery_cutoff is not None:
        # Index notification_delivery_finished (updated_at, only sent and failed deliveries).
        deliveries = NotificationDelivery.objects.filter(state__in=FINISHED, updated_at__lt=delivery_cutoff)
        counts["deliveries"], complete = _in_batches(deliveries, batch=batch, deadline=deadline)

    notification_cutoff = _cutoff(settings.NOTIFICATION_RETENTION_DAYS, now)
    if complete and notification_cutoff is not None:
        # Index notification_created; a delivery still to make keeps its notification.
        unfinished = NotificationDelivery.objects.filter(notification=models.OuterRef("pk"), state__in=UNFINISHED)
        notifications = Notification.objects.filter(created_at__lt=notification_cutoff).exclude(
            models.Exists(unfinished)
        )
        counts["notifications"], complete = _in_batches(notifications, batch=batch, deadline=deadline)

    result = PruneResult(**counts, complete=complete)
    if any(counts.values()):
        logger.info(
            "growth prune outbox=%d deliveries=%d notifications=%d complete=%s",
            result.outbox,
            result.deliveries,
            result.notifications,
            result.complete,
        )
    return result
