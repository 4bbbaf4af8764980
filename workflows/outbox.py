"""The transactional outbox (DESIGN §5.1): state changes record the task to send in the same
transaction; the task is sent only after commit, and a relay re-sends what was not confirmed.

The broker is a doorbell: a row whose transaction rolled back was never there, so nothing is
sent; a row whose send failed (broker down) or whose task never ran (lost message, killed
worker) is sent again by `outbox_relay`, which the beat runs every few seconds. Tasks take ids
and are idempotent, so a second delivery changes nothing.

Re-sends back off per row: the n-th re-send waits ENGINE_OUTBOX_RESEND_SECONDS × 2^(n−1) after
the previous send, up to ENGINE_OUTBOX_MAX_BACKOFF_SECONDS, so a task that never confirms (it
crashes first, or its messages are lost) costs a few sends an hour instead of one a minute,
and a backlog drains instead of being multiplied. Each send stores when the next one is due
(`next_attempt_at`), so the relay reads one range of an index. A send the broker refused is not
counted: the row is tried again at the next round and keeps its place in the backoff. A row
re-sent more than ENGINE_OUTBOX_WARN_RESENDS times is logged at WARNING at each further re-send
and counted on /healthz.

A row queued behind a backlog is not lost: re-sending it would only add a copy at the back of
the same queue (and a backlog would feed on its own re-sends). So each send carries its time in
a message header (OUTBOX_SENT_HEADER), and before re-sending, the relay looks at the oldest
message still waiting in the row's queue on Redis (one LINDEX per queue and round): while that
message was sent no later than the row's last send, the row's message may still be waiting
behind it, and the re-send is put off by the base interval, without counting a send. Once the
oldest waiting message is younger than the row's last send (or the queue is empty), a message
of that send would have been taken already: it was lost, or its task ran without confirming,
and the row is re-sent. On RabbitMQ (quorum queues and publisher confirms: a message the broker
confirmed is not lost, and a consumer's lost connection gives it back) the relay does not look.

Every task sent through here receives an extra ``outbox_id`` keyword and should call
`outbox_confirm(outbox_id)` once it has run (or has taken over responsibility for the work).

A task declared with ``run_here_after_commit=True`` (the notification task) is not sent when the
row is written by a task running in a worker that consumes the row's queue: that worker process
runs it itself, right after the commit, as a worker taking the message would have (a broker round
trip and a task's dispatch saved per row). Nothing else changes: the row was written in the same
transaction, the task confirms it, and if the process dies first, or the task fails, the relay
sends it after its backoff as it would a lost message. ENGINE_OUTBOX_RUN_HERE=false turns it off.
"""

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from celery import current_app, current_task
from celery.app.task import Task
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
# The message header carrying when it was sent (microseconds since the epoch, UTC): the relay
# compares the oldest waiting message's with a row's last send.
OUTBOX_SENT_HEADER = "outbox_sent_us"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    here = runs_here(message)
    transaction.on_commit(lambda: _deliver(message, claimed_at=now, attempts=1, here=here))
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


def sent_us(moment: datetime) -> int:
    """A send's time as the header carries it: exact, so a row's own message compares equal."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _publish(message: OutboxMessage, *, sent_at: datetime, attempt: int, here: Task | None = None) -> None:
    # In the trace of the request or task that wrote the row, even when the relay sends it
    # later from another process: the task's spans (Celery carries the context in the message's
    # headers) are that trace's too.
    attributes: dict[str, str | int] = {
        "outbox.id": message.pk,
        "outbox.task": message.task,
        "outbox.attempt": attempt,
    }
    with span_restored(message.traceparent, f"outbox publish {message.task}", attributes):
        _publish_now(message, sent_at=sent_at, here=here)


def runs_here(message: OutboxMessage) -> Task | None:
    """The row's task, when this process runs it after the commit instead of sending it (see the
    module's docstring): written inside a task a worker took from its broker, for a task declared
    `run_here_after_commit`, on a queue this worker consumes. Only a row's first send: the relay's
    re-sends go through the broker, to be shared by the pool."""
    if not settings.ENGINE_OUTBOX_RUN_HERE or current_app.conf.task_always_eager:
        return None
    running = current_task  # a proxy: false outside a task
    if not running or running.request.is_eager or not running.request.delivery_info:
        return None
    task = current_app.tasks.get(message.task)
    if task is None or not getattr(task, "run_here_after_commit", False):
        return None
    return task if message.queue in current_app.amqp.queues.consume_from else None


def _publish_now(message: OutboxMessage, *, sent_at: datetime, here: Task | None = None) -> None:
    kwargs = {**message.kwargs, "outbox_id": message.pk}
    if here is not None:
        # Traced and signalled as a task (metrics, request context); its failure is the task's.
        here.apply(kwargs=kwargs, throw=True)
    elif current_app.conf.task_always_eager:
        # Embedded mode and most tests: run in-process, after commit, like a worker would.
        current_app.tasks[message.task].apply(kwargs=kwargs, throw=True)
    else:
        current_app.send_task(
            message.task,
            kwargs=kwargs,
            queue=message.queue,
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
            headers={OUTBOX_SENT_HEADER: sent_us(sent_at)},
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


def _deliver(message: OutboxMessage, *, claimed_at: datetime, attempts: int, here: Task | None = None) -> bool:
    """Publishes a claimed row, or runs its task `here`; returns whether the broker took it (or
    the task ran)."""
    try:
        _publish(message, sent_at=claimed_at, attempt=attempts, here=here)
    except Exception as exc:  # noqa: BLE001 - the broker may be down; the relay will re-send
        error = str(exc)[:500]
        mine = OutboxMessage.objects.filter(pk=message.pk, sent_at=claimed_at, attempts=attempts)
        if current_app.conf.task_always_eager or here is not None:
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
    due = list(
        OutboxMessage.objects.filter(confirmed_at__isnull=True, next_attempt_at__lte=now).order_by("next_attempt_at")[
            :limit
        ]
    )
    oldest_waiting = oldest_waiting_sends(message.queue for message in due if message.sent_at is not None)
    handed_over = deferred = 0
    for message in due:
        if message.sent_at is not None and message.queue in oldest_waiting:
            oldest = oldest_waiting[message.queue]
            if oldest is None or oldest <= sent_us(message.sent_at):
                # Its message may still be waiting behind the backlog: not lost, not re-sent.
                deferred += _defer(message, now=now, resend_after=resend_after)
                continue
        claim = _claim(message, now=now, resend_after=resend_after)
        if claim is None or not _deliver(message, claimed_at=now, attempts=claim.attempts):
            continue
        handed_over += 1
        if claim.attempts - 1 > settings.ENGINE_OUTBOX_WARN_RESENDS:
            # An operator's signal: the task keeps not confirming (it crashes before it does,
            # or its messages are lost). Once per re-send, so a few an hour per row.
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
    if deferred:
        logger.info("outbox relay put off %d re-send(s): their queue still holds older messages", deferred)
    return handed_over


def _defer(message: OutboxMessage, *, now: datetime, resend_after: float) -> int:
    """Looks again after the base interval; not a send, so the backoff does not grow."""
    return OutboxMessage.objects.filter(
        pk=message.pk, confirmed_at__isnull=True, attempts=message.attempts, next_attempt_at=message.next_attempt_at
    ).update(next_attempt_at=now + timedelta(seconds=resend_after))


def oldest_waiting_sends(queues: Iterable[str]) -> dict[str, int | None]:
    """For each queue on the Redis broker that holds messages: when its oldest waiting message
    was sent (OUTBOX_SENT_HEADER), or None when that message does not say (it was not sent
    through the outbox: taken as older than any row). An empty queue is left out. Empty for
    another broker, the embedded mode, or a broker that does not answer (the relay then
    re-sends as it would without looking)."""
    wanted = sorted(set(queues))
    if not wanted or current_app.conf.task_always_eager:
        return {}
    try:
        with current_app.connection_for_read() as connection:
            if connection.transport.driver_type != "redis":
                return {}
            client = connection.default_channel.client
            with client.pipeline(transaction=False) as pipe:
                for queue in wanted:
                    # kombu pushes on the left and workers pop on the right: the oldest is at -1.
                    # Only the unprioritised list: the outbox sends at the default priority.
                    pipe.lindex(queue, -1)
                heads = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - looking is an optimisation; never stop the relay
        logger.warning("outbox relay could not look at the broker's queues error=%s", exc)
        return {}
    return {queue: _sent_header(head) for queue, head in zip(wanted, heads, strict=True) if head is not None}


def _sent_header(raw: bytes | str) -> int | None:
    try:
        value = json.loads(raw).get("headers", {}).get(OUTBOX_SENT_HEADER)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


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
