"""Sending one notification through one channel, exactly once, with retries and backoff.

A delivery is claimed with a conditional update (pending/retrying → sending); a task that
runs twice, or two workers at once, find nothing left to claim. The notification task writes
its deliveries already claimed and sends them in one batch per channel right after its commit
(`deliveries_send`): no outbox row, no claim, one statement per delivery, whose commit on
PostgreSQL does not wait for the WAL flush (`_sent`). A failed send records the
error and a next attempt time; the beat sweep re-enqueues due deliveries through the outbox
(no long Celery countdowns, DESIGN §5.1).
"""

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.mail import EmailMessage, get_connection
from django.db import connections, router, transaction
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


def _send(delivery: NotificationDelivery, *, connection: Any = None, phone: str | None = None) -> None:
    """Sends one delivery through its channel (`connection`: an open e-mail connection to reuse;
    `phone`: the number, when the caller has read the person's preference)."""
    notification = delivery.notification
    user = notification.user
    if delivery.channel == Channel.EMAIL:
        body = notification.body
        if notification.link:
            body = f"{body}\n\n{absolute_url(notification.link)}"
        message = EmailMessage(subject=notification.subject, body=body, to=[user.email], connection=connection)
        for attachment in notification.attachments or []:
            message.attach(attachment["filename"], attachment["content"], attachment["content_type"])
        message.send(fail_silently=False)
    elif delivery.channel == Channel.SMS:
        if phone is None:
            preference = NotificationPreference.objects.filter(user=user).first()
            phone = preference.phone if preference else ""
        sms_gateway().send(SmsMessage(to=phone, text=notification.sms_text))
    # In-app deliveries are complete when written; nothing leaves the portal.


def _failed(delivery: NotificationDelivery, exc: Exception) -> str:
    """Records a failed send of a delivery in "sending": retried after its backoff, or failed
    for good after the last attempt. Returns the new state."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    if delivery.attempts >= MAX_ATTEMPTS:
        state, next_attempt_at = State.FAILED, None
    else:
        state = State.RETRYING
        next_attempt_at = timezone.now() + timedelta(minutes=RETRY_DELAYS_MINUTES[delivery.attempts - 1])
    NotificationDelivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(
        state=state, last_error=error, next_attempt_at=next_attempt_at, updated_at=timezone.now()
    )
    logger.warning(
        "notification delivery failed delivery=%s channel=%s attempt=%s error=%s",
        delivery.pk,
        delivery.channel,
        delivery.attempts,
        error,
    )
    return str(state)


# The "sent" mark on PostgreSQL: one statement in autocommit whose commit does not wait for the
# WAL flush. The FROM item is evaluated with the row it updates, and a setting made local lasts to
# the end of the statement's own transaction, which is when its commit reads it: that commit
# alone is asynchronous, the connection's next transactions are synchronous again.
SENT_ASYNC_SQL = """
    UPDATE {table} SET state = %s, sent_at = %s, last_error = '', next_attempt_at = NULL, updated_at = %s
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
    WHERE id = %s AND state = %s
"""


def _sent(delivery: NotificationDelivery) -> None:
    """Records a delivery that has left as sent (from "sending" only).

    On PostgreSQL, outside a transaction, its commit is asynchronous (`synchronous_commit` off for
    that one statement): it does not wait for the WAL to reach the disk. The trade: the mark is
    committed and visible to every other session when the statement returns, so a sender that
    dies afterwards, or in the middle of a batch, still sends nothing twice; only a crash of the
    PostgreSQL server itself within a fraction of a second of the commit (three times
    `wal_writer_delay` at most) can lose the mark, and then the delivery is left "sending" and
    the delivery sweep sends that one message again after STUCK_AFTER. Inside a transaction (the
    caller's commit decides) and on SQLite it is a plain UPDATE."""
    now = timezone.now()
    connection = connections[router.db_for_write(NotificationDelivery)]
    if connection.vendor == "postgresql" and connection.get_autocommit():
        with connection.cursor() as cursor:
            cursor.execute(
                SENT_ASYNC_SQL.format(table=connection.ops.quote_name(NotificationDelivery._meta.db_table)),
                [State.SENT, now, now, delivery.pk, State.SENDING],
            )
        return
    NotificationDelivery.objects.filter(pk=delivery.pk, state=State.SENDING).update(
        state=State.SENT, sent_at=now, last_error="", next_attempt_at=None, updated_at=now
    )


def deliveries_send(*, deliveries: list[NotificationDelivery], phones: dict[int, str] | None = None) -> dict[str, int]:
    """Sends deliveries their batch has already claimed ("sending", written by the committed
    notification task), channel by channel: the e-mails of a batch over one connection. Never
    call it inside a transaction. Returns how many ended in each state.

    Each delivery is recorded as sent as soon as it has left, so a sender that dies midway
    sends none of the earlier ones again; the one it was sending stays "sending" and the
    delivery sweep retries it (at least once, as for a single delivery)."""
    outcome: Counter[str] = Counter()
    phones = phones or {}
    by_channel: dict[str, list[NotificationDelivery]] = {}
    for delivery in deliveries:
        by_channel.setdefault(delivery.channel, []).append(delivery)
    for channel, batch in by_channel.items():
        connection = get_connection(fail_silently=False) if channel == Channel.EMAIL else None
        try:
            for delivery in batch:
                try:
                    _send(delivery, connection=connection, phone=phones.get(delivery.notification.user_id))
                except Exception as exc:  # noqa: BLE001 - any channel failure is recorded and retried
                    outcome[_failed(delivery, exc)] += 1
                    continue
                _sent(delivery)
                outcome[State.SENT] += 1
        finally:
            if connection is not None:
                connection.close()
    return dict(outcome)


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
        return _failed(delivery, exc)
    _sent(delivery)
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
