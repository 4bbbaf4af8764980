"""The transactional outbox (DESIGN §5.1): state changes record the task to send in the same
transaction; the task is sent only after commit, and a relay re-sends what was not confirmed.

The broker is a doorbell: a row whose transaction rolled back was never there, so nothing is
sent; a row whose send failed (broker down) or whose task never ran (lost message, killed
worker) is sent again by `outbox_relay`, which the beat runs every few seconds. Tasks take ids
and are idempotent, so a second delivery changes nothing.

Re-sends back off per row: the n-th re-send waits ENGINE_OUTBOX_RESEND_SECONDS × 2^(n−1) after
the previous send, up to ENGINE_OUTBOX_MAX_BACKOFF_SECONDS, so a task that never confirms (it
crashes first, or its queue has no consumer) costs a few sends an hour instead of one a minute,
and a backlog drains instead of being multiplied. Each send stores when the next one is due
(`next_attempt_at`), so the relay reads one range of an index. A send the broker refused is not
counted: the row is tried again at the next round and keeps its place in the backoff. A row
re-sent more than ENGINE_OUTBOX_WARN_RESENDS times is logged at WARNING at each further re-send
and counted on /healthz.

Every task sent through here receives an extra ``outbox_id`` keyword and should call
`outbox_confirm(outbox_id)` once it has run (or has taken over responsibility for the work).
"""

import logging
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lib.trace_context import current_traceparent, span_restored
from workflows.models import OutboxMessage

logger = logging.getLogger(__name__)

# A row the broker refused is tried again by the relay after this long.
UNSENT_GRACE = timedelta(seconds=5)
# Publishing gives up quickly when the broker is down: the relay tries again later.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# 2^32 × any interval is far beyond any cap; stops the doubling before floats overflow.
MAX_DOUBLINGS = 32


def outbox_enqueue(*, task: str, kwargs: dict[str, Any], queue: str = "default") -> OutboxMessage:
    """Records a task to send once the surrounding transaction commits. Call inside it.

    The row is written already claimed for its first send (one attempt, the next due after
    the resend interval): only this transaction's commit hook sends it, so the first send
    costs no statement of its own. If the process dies between the commit and the send, the
    relay sends it once the resend interval has passed; if the broker refuses it, it goes
    back to unsent (`_deliver`) and the relay tries it again within UNSENT_GRACE.
    """
    now = timezone.now()
    delay = resend_delay(
        attempts=1,
        resend_after=settings.ENGINE_OUTBOX_RESEND_SECONDS,
        max_backoff=settings.ENGINE_OUTBOX_MAX_BACKOFF_SECONDS,
    )
    message = OutboxMessage.objects.create(
        task=task,
        kwargs=kwargs,
        queue=queue,
        sent_at=now,
        attempts=1,
        next_attempt_at=now + delay,
        traceparent=current_traceparent(),
    )
    transaction.on_commit(lambda: _deliver(message, claimed_at=now, attempts=1))
    return message


def outbox_confirm(outbox_id: int | None) -> None:
    """The task ran (or took over its work): the relay need not send it again."""
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id, confirmed_at__isnull=True).update(confirmed_at=timezone.now())


def resend_delay(*, attempts: int, resend_after: float, max_backoff: float) -> timedelta:
    """How long a row sent `attempts` times waits for its confirmation before the next send:
    resend_after × 2^(attempts−1), at most max_backoff (which is never below resend_after)."""
    doublings = min(max(attempts - 1, 0), MAX_DOUBLINGS)
    return timedelta(seconds=min(resend_after * 2**doublings, max(max_backoff, resend_after)))


def _publish(message: OutboxMessage, *, attempt: int) -> None:
    # In the trace of the request or task that wrote the row, even when the relay sends it
    # later from another process: the task's spans (Celery carries the context in the message's
    # headers) are that trace's too.
    attributes: dict[str, str | int] = {
        "outbox.id": message.pk,
        "outbox.task": message.task,
        "outbox.attempt": attempt,
    }
    with span_restored(message.traceparent, f"outbox publish {message.task}", attributes):
        _publish_now(message)


def _publish_now(message: OutboxMessage) -> None:
    kwargs = {**message.kwargs, "outbox_id": message.pk}
    if current_app.conf.task_always_eager:
        # Embedded mode and most tests: run in-process, after commit, like a worker would.
        current_app.tasks[message.task].apply(kwargs=kwargs, throw=True)
    else:
        current_app.send_task(
            message.task, kwargs=kwargs, queue=message.queue, retry=True, retry_policy=PUBLISH_RETRY_POLICY
        )


class Claim(NamedTuple):
    attempts: int
    next_attempt_at: datetime


def _claim(message: OutboxMessage, *, now: datetime, resend_after: float) -> Claim | None:
    """Takes the row for one send, only if nobody sent or confirmed it since it was read
    (Healthchecks' habit: a second sender finds nothing to update), and sets its next attempt."""
    attempts = message.attempts + 1
    delay = resend_delay(
        attempts=attempts, resend_after=resend_after, max_backoff=settings.ENGINE_OUTBOX_MAX_BACKOFF_SECONDS
    )
    claimed = OutboxMessage.objects.filter(
        pk=message.pk,
        confirmed_at__isnull=True,
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at,
    ).update(sent_at=now, attempts=attempts, next_attempt_at=now + delay)
    return Claim(attempts, now + delay) if claimed == 1 else None


def _deliver(message: OutboxMessage, *, claimed_at: datetime, attempts: int) -> bool:
    """Publishes a claimed row; returns whether the broker took it."""
    try:
        _publish(message, attempt=attempts)
    except Exception as exc:  # noqa: BLE001 - the broker may be down; the relay will re-send
        error = str(exc)[:500]
        mine = OutboxMessage.objects.filter(pk=message.pk, sent_at=claimed_at, attempts=attempts)
        if current_app.conf.task_always_eager:
            # In-process the task itself failed, as one a worker ran and lost: it counts as a
            # send and waits its backoff.
            logger.warning("outbox task failed outbox_id=%s task=%s error=%s", message.pk, message.task, exc)
            mine.update(last_error=error)
        else:
            # The broker refused it: not a send. Back to unsent, tried again at the next round
            # without growing its backoff, so the queue drains as soon as the broker is back.
            logger.warning("outbox send failed outbox_id=%s task=%s error=%s", message.pk, message.task, exc)
            mine.update(
                sent_at=None, attempts=attempts - 1, next_attempt_at=claimed_at + UNSENT_GRACE, last_error=error
            )
        return False
    return True


def outbox_relay(*, resend_after: float | None = None, limit: int = 500, now: datetime | None = None) -> int:
    """Sends again every unconfirmed row whose next attempt is due; returns how many were
    handed over.

    `resend_after` is the base of the backoff given to the rows this round sends (the setting
    by default); `now` lets tests move the clock. Each row is claimed by a conditional update,
    so two relays running at once never both send the same row in the same round.
    """
    now = now or timezone.now()
    if resend_after is None:
        resend_after = settings.ENGINE_OUTBOX_RESEND_SECONDS
    due = OutboxMessage.objects.filter(confirmed_at__isnull=True, next_attempt_at__lte=now)
    handed_over = 0
    for message in list(due.order_by("next_attempt_at")[:limit]):
        claim = _claim(message, now=now, resend_after=resend_after)
        if claim is None or not _deliver(message, claimed_at=now, attempts=claim.attempts):
            continue
        handed_over += 1
        if claim.attempts - 1 > settings.ENGINE_OUTBOX_WARN_RESENDS:
            # An operator's signal: the task keeps not confirming (it crashes before it does,
            # or nothing consumes its queue). Once per re-send, so a few an hour per row.
            logger.warning(
                "outbox message unconfirmed after %d re-sends outbox_id=%s task=%s queue=%s attempts=%d "
                "created_at=%s next_attempt_at=%s",
                claim.attempts - 1,
                message.pk,
                message.task,
                message.queue,
                claim.attempts,
                message.created_at.isoformat(),
                claim.next_attempt_at.isoformat(),
            )
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


def over_warn_resends_count() -> int:
    """Unconfirmed rows re-sent more than ENGINE_OUTBOX_WARN_RESENDS times (for /healthz)."""
    sends = settings.ENGINE_OUTBOX_WARN_RESENDS + 1  # the first send is not a re-send
    return OutboxMessage.objects.filter(confirmed_at__isnull=True, attempts__gt=sends).count()
