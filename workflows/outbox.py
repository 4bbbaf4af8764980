"""The transactional outbox (DESIGN §5.1): state changes record the task to send in the same
transaction; the task is sent only after commit, and a relay re-sends what was not confirmed.

The broker is a doorbell: a row whose transaction rolled back was never there, so nothing is
sent; a row whose send failed (broker down) or whose task never ran (lost message, killed
worker) is sent again by `outbox_relay`, which the beat runs every few seconds. Tasks take ids
and are idempotent, so a second delivery changes nothing.

Every task sent through here receives an extra ``outbox_id`` keyword and should call
`outbox_confirm(outbox_id)` once it has run (or has taken over responsibility for the work).
"""

import logging
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from workflows.models import OutboxMessage

logger = logging.getLogger(__name__)

# A row never sent is left to its on-commit send for this long before the relay takes it.
UNSENT_GRACE = timedelta(seconds=5)
# Publishing gives up quickly when the broker is down: the relay tries again later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def outbox_enqueue(*, task: str, kwargs: dict[str, Any], queue: str = "default") -> OutboxMessage:
    """Records a task to send once the surrounding transaction commits. Call inside it."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs, queue=queue)
    transaction.on_commit(lambda: outbox_send(message_id=message.pk))
    return message


def outbox_confirm(outbox_id: int | None) -> None:
    """The task ran (or took over its work): the relay need not send it again."""
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id, confirmed_at__isnull=True).update(confirmed_at=timezone.now())


def _publish(message: OutboxMessage) -> None:
    kwargs = {**message.kwargs, "outbox_id": message.pk}
    if current_app.conf.task_always_eager:
        # Embedded mode and most tests: run in-process, after commit, like a worker would.
        current_app.tasks[message.task].apply(kwargs=kwargs, throw=True)
    else:
        current_app.send_task(
            message.task, kwargs=kwargs, queue=message.queue, retry=True, retry_policy=PUBLISH_RETRY_POLICY
        )


def _deliver(message: OutboxMessage, sent_at) -> bool:
    try:
        _publish(message)
    except Exception as exc:  # noqa: BLE001 - the broker may be down; the relay will re-send
        logger.warning("outbox send failed outbox_id=%s task=%s error=%s", message.pk, message.task, exc)
        OutboxMessage.objects.filter(pk=message.pk, sent_at=sent_at).update(sent_at=None, last_error=str(exc)[:500])
        return False
    return True


def outbox_send(*, message_id: int) -> bool:
    """Sends one outbox row to the broker (or runs it in-process in the embedded mode).

    Never called inside a transaction. A failure leaves the row for the relay to re-send.
    Returns whether it was handed over.
    """
    message = OutboxMessage.objects.filter(pk=message_id, confirmed_at__isnull=True).first()
    if message is None:
        return False
    now = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=now, attempts=F("attempts") + 1)
    return _deliver(message, now)


def outbox_relay(*, resend_after: float | None = None, limit: int = 500) -> int:
    """Sends again every row not confirmed in time; returns how many were handed over.

    Each row is claimed by a conditional update of its `sent_at` (Healthchecks' habit), so
    two relays running at once never both send the same row in the same round.
    """
    now = timezone.now()
    if resend_after is None:
        resend_after = settings.ENGINE_OUTBOX_RESEND_SECONDS
    due = (
        OutboxMessage.objects.filter(confirmed_at__isnull=True)
        .filter(
            Q(sent_at__isnull=True, created_at__lt=now - UNSENT_GRACE)
            | Q(sent_at__lt=now - timedelta(seconds=resend_after))
        )
        .order_by("created_at")[:limit]
    )
    handed_over = 0
    for message in list(due):
        claimed = OutboxMessage.objects.filter(
            pk=message.pk, confirmed_at__isnull=True, sent_at=message.sent_at
        ).update(sent_at=now, attempts=F("attempts") + 1)
        if claimed and _deliver(message, now):
            handed_over += 1
    if handed_over:
        logger.info("outbox relay re-sent %d message(s)", handed_over)
    return handed_over


def oldest_unsent_age_seconds() -> float | None:
    """Age of the oldest unconfirmed row (for /healthz), or None when the outbox is empty."""
    oldest = (
        OutboxMessage.objects.filter(confirmed_at__isnull=True)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return None if oldest is None else round((timezone.now() - oldest).total_seconds(), 1)
