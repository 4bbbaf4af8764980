"""Sending one notification through one channel, exactly once, with retries and backoff.

A delivery is claimed with a conditional update (pending/retrying → sending); a task that
runs twice, or two workers at once, find nothing left to claim. A failed send records the
error and a next attempt time; the beat sweep re-enqueues due deliveries through the outbox
(no long Celery countdowns, DESIGN §5.1).
"""

import logging
from datetime import timedelta

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from workflows.models import NotificationDelivery, NotificationPreference
from workflows.notifications.notify import DELIVER_TASK, absolute_url
from workflows.notifications.sms import SmsMessage, sms_gateway
from workflows.outbox import outbox_enqueue

logger = logging.getLogger(__name__)

State = NotificationDelivery.State
Channel = NotificationDelivery.Channel

# Minutes to wait after the 1st, 2nd, ... failure; after the last, the delivery has failed.
RETRY_DELAYS_MINUTES = (1, 2, 5, 15, 30, 60)
MAX_ATTEMPTS = len(RETRY_DELAYS_MINUTES) + 1
# A delivery left in "sending" this long was being sent by a worker that died.
STUCK_AFTER = timedelta(minutes=10)


def _send(delivery: NotificationDelivery) -> None:
    notification = delivery.notification
    user = notification.user
    if delivery.channel == Channel.EMAIL:
        body = notification.body
        if notification.link:
            body = f"{body}\n\n{absolute_url(notification.link)}"
        message = EmailMessage(subject=notification.subject, body=body, to=[user.email])
        for attachment in notification.attachments or []:
            message.attach(attachment["filename"], attachment["content"], attachment["content_type"])
        message.send(fail_silently=False)
    elif delivery.channel == Channel.SMS:
        preference = NotificationPreference.objects.filter(user=user).first()
        sms_gateway().send(SmsMessage(to=preference.phone if preference else "", text=notification.sms_text))
    # In-app deliveries are complete when written; nothing leaves the portal.


def delivery_send(*, delivery_id: int) -> str:
    """Sends one delivery if it is due and unsent. Returns "sent", "retrying", "failed" or "skipped"."""
    now = timezone.now()
    claimed = (
        NotificationDelivery.objects.filter(pk=delivery_id, state__in=[State.PENDING, State.RETRYING])
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(state=State.SENDING, attempts=F("attempts") + 1, updated_at=now)
    )
    if claimed != 1:
        return "skipped"
    delivery = NotificationDelivery.objects.select_related("notification__user").get(pk=delivery_id)
    try:
        _send(delivery)
    except Exception as exc:  # noqa: BLE001 - any channel failure is recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:500]
        if delivery.attempts >= MAX_ATTEMPTS:
            state, next_attempt_at = State.FAILED, None
        else:
            state = State.RETRYING
            next_attempt_at = timezone.now() + timedelta(minutes=RETRY_DELAYS_MINUTES[delivery.attempts - 1])
        NotificationDelivery.objects.filter(pk=delivery_id, state=State.SENDING).update(
            state=state, last_error=error, next_attempt_at=next_attempt_at, updated_at=timezone.now()
        )
        logger.warning(
            "notification delivery failed delivery=%s channel=%s attempt=%s error=%s",
            delivery_id,
            delivery.channel,
            delivery.attempts,
            error,
        )
        return str(state)
    NotificationDelivery.objects.filter(pk=delivery_id, state=State.SENDING).update(
        state=State.SENT, sent_at=timezone.now(), last_error="", next_attempt_at=None, updated_at=timezone.now()
    )
    return "sent"


def deliveries_retry_due(*, now=None, limit: int = 500) -> int:
    """Re-enqueues deliveries whose next attempt is due, and frees ones stuck in "sending"."""
    now = now or timezone.now()
    NotificationDelivery.objects.filter(state=State.SENDING, updated_at__lt=now - STUCK_AFTER).update(
        state=State.RETRYING, next_attempt_at=now, last_error="interrupted while sending", updated_at=now
    )
    with transaction.atomic():
        due = list(
            NotificationDelivery.objects.select_for_update(skip_locked=True)
            .filter(state=State.RETRYING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        for delivery_id in due:
            outbox_enqueue(task=DELIVER_TASK, kwargs={"delivery_id": delivery_id})
    return len(due)
