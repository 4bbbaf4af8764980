"""The outbox relay backs off per row: a row whose task never confirms is re-sent after 1, 2,
4 … times ENGINE_OUTBOX_RESEND_SECONDS, never more than the cap apart; past a number of re-sends
each one is logged at WARNING and /healthz counts the row.

The broker is the real Redis (tasks are published, not run in-process) and nothing consumes the
test queue, so a row is never confirmed unless the test confirms it. A task that never confirms
is played by `taken_and_lost`, which empties the queues as a worker that took the messages and
crashed would (a message still waiting is not re-sent: test_outbox_queued.py). The clock is
driven through `outbox_relay(now=...)`; the first send after commit happens at the real time."""

import logging
import threading
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tests.support.processes import producer_broker
from workflows.models import OutboxMessage
from workflows.outbox import outbox_confirm, outbox_enqueue, outbox_relay

pytestmark = pytest.mark.django_db(transaction=True)

# A queue no worker listens to: what reaches it stays there, unconfirmed.
QUEUE = "dept.nobody"
TASK = "workflows.test_never_confirms"
SECOND = timedelta(seconds=1)


@pytest.fixture
def broker(use_broker) -> redis.Redis:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    return client


@pytest.fixture
def schedule(settings):
    """The production defaults, spelled out so the intervals below read against them."""
    settings.ENGINE_OUTBOX_RESEND_SECONDS = 60
    settings.ENGINE_OUTBOX_MAX_BACKOFF_SECONDS = 3600
    settings.ENGINE_OUTBOX_WARN_RESENDS = 8
    return settings


def taken_and_lost(broker: redis.Redis) -> None:
    """Every waiting message was taken by a worker whose task crashed before confirming."""
    broker.delete(QUEUE, "dept.tax")


def enqueue_and_commit() -> OutboxMessage:
    with transaction.atomic():
        message = outbox_enqueue(task=TASK, kwargs={"application_id": 1}, queue=QUEUE)
    message.refresh_from_db()
    return message


def due_row(*, attempts: int, queue: str = QUEUE) -> OutboxMessage:
    """A row already sent `attempts` times, never confirmed, and due now."""
    now = timezone.now()
    return OutboxMessage.objects.create(
        task=TASK, kwargs={}, queue=queue, attempts=attempts, sent_at=now - timedelta(hours=1), next_attempt_at=now
    )


def test_the_first_send_happens_at_commit_and_the_relay_leaves_it_for_the_resend_interval(broker, schedule):
    message = enqueue_and_commit()
    assert broker.llen(QUEUE) == 1
    assert message.attempts == 1
    assert message.next_attempt_at - message.sent_at == timedelta(seconds=60)
    assert outbox_relay(now=message.sent_at + 59 * SECOND) == 0
    assert broker.llen(QUEUE) == 1


def test_a_never_confirmed_row_is_re_sent_at_doubling_intervals_up_to_the_cap(broker, schedule):
    message = enqueue_and_commit()
    previous_send = message.sent_at
    waits = []
    for resend in range(1, 11):
        due = OutboxMessage.objects.get(pk=message.pk).next_attempt_at
        taken_and_lost(broker)
        assert outbox_relay(now=due - SECOND) == 0, f"re-send {resend} came early"
        assert outbox_relay(now=due) == 1, f"re-send {resend} did not come when due"
        assert broker.llen(QUEUE) == 1
        waits.append((due - previous_send).total_seconds())
        previous_send = due
    print(f"\nwaits before each re-send (s): {waits}")
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
    message.refresh_from_db()
    assert message.attempts == 11 and message.confirmed_at is None


def test_the_wait_never_exceeds_a_lower_cap_nor_overflows_after_many_sends(broker, settings):
    settings.ENGINE_OUTBOX_RESEND_SECONDS = 10
    settings.ENGINE_OUTBOX_MAX_BACKOFF_SECONDS = 45
    message = enqueue_and_commit()
    previous_send = message.sent_at
    waits = []
    for _resend in range(5):
        due = OutboxMessage.objects.get(pk=message.pk).next_attempt_at
        taken_and_lost(broker)
        assert outbox_relay(now=due) == 1
        waits.append((due - previous_send).total_seconds())
        previous_send = due
    assert waits == [10, 20, 40, 45, 45]

    outbox_confirm(message.pk)
    veteran = due_row(attempts=5000)
    now = timezone.now()
    assert outbox_relay(now=now) == 1
    veteran.refresh_from_db()
    assert veteran.next_attempt_at - now == timedelta(seconds=45)


def test_a_confirmed_row_is_never_re_sent(broker, schedule):
    message = enqueue_and_commit()
    outbox_confirm(message.pk)
    for later in (timedelta(minutes=1), timedelta(hours=1), timedelta(days=30)):
        assert outbox_relay(now=message.sent_at + later) == 0
    assert broker.llen(QUEUE) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def relay_at_once(barrier: threading.Barrier, now, handed_over: list[int]) -> None:
    try:
        barrier.wait(5)
        handed_over.append(outbox_relay(now=now))
    finally:
        connection.close()


def test_two_relays_at_once_send_each_due_row_once(broker, schedule):
    rows = [due_row(attempts=1) for _ in range(20)]
    for round_number in range(1, 4):
        now = timezone.now()
        OutboxMessage.objects.update(next_attempt_at=now - SECOND)
        taken_and_lost(broker)
        barrier = threading.Barrier(2)
        handed_over: list[int] = []
        threads = [threading.Thread(target=relay_at_once, args=(barrier, now, handed_over)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        print(f"\nround {round_number}: the two relays sent {handed_over}")
        assert sum(handed_over) == len(rows)
        assert broker.llen(QUEUE) == len(rows)
        attempts = set(OutboxMessage.objects.values_list("attempts", flat=True))
        assert attempts == {1 + round_number}


def test_a_send_the_broker_refuses_is_not_counted_and_is_tried_at_the_next_round(throwaway_redis, use_broker, schedule):
    with producer_broker(throwaway_redis.url):
        throwaway_redis.stop()
        message = enqueue_and_commit()
        assert (message.attempts, message.sent_at) == (0, None)
        assert message.last_error
        refused_at = message.next_attempt_at
        assert outbox_relay(now=refused_at) == 0  # still down: refused again, still not counted
        message.refresh_from_db()
        assert message.attempts == 0 and message.next_attempt_at == refused_at + timedelta(seconds=5)
        throwaway_redis.start()  # same port, empty
        back_at = message.next_attempt_at
        assert outbox_relay(now=back_at) == 1
        assert redis.Redis.from_url(throwaway_redis.url).llen(QUEUE) == 1
    message.refresh_from_db()
    # The first send the broker took: the next waits the base interval, not a grown one.
    assert message.attempts == 1
    assert message.next_attempt_at - back_at == timedelta(seconds=60)


def test_past_the_threshold_each_re_send_is_logged_at_warning(broker, schedule, caplog):
    quiet = due_row(attempts=8)  # its next send is the 8th re-send: at the threshold
    loud = due_row(attempts=9, queue="dept.tax")  # its next send is the 9th re-send: past it
    with caplog.at_level(logging.WARNING, logger="workflows.outbox"):
        assert outbox_relay() == 2
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    print(f"\n{text}")
    assert f"outbox_id={loud.pk} " in text
    assert f"task={TASK} " in text and "queue=dept.tax " in text and "attempts=10 " in text
    assert "after 9 re-sends" in text
    assert f"outbox_id={quiet.pk} " not in caplog.text

    caplog.clear()
    taken_and_lost(broker)
    with caplog.at_level(logging.WARNING, logger="workflows.outbox"):
        outbox_relay(now=timezone.now() + timedelta(hours=2))  # one more attempt of each
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2  # the loud row again, and the quiet one now past the threshold
    assert any(f"outbox_id={quiet.pk} " in text and "attempts=10 " in text for text in warnings)
    assert any(f"outbox_id={loud.pk} " in text and "attempts=11 " in text for text in warnings)


def test_healthz_counts_unconfirmed_rows_past_the_threshold_and_stays_ok(client, schedule):
    assert client.get("/healthz").json()["outbox_over_warn_resends"] == 0
    due_row(attempts=9)  # 8 re-sends: at the threshold, not past it
    past = [due_row(attempts=10), due_row(attempts=25)]
    confirmed = due_row(attempts=40)
    outbox_confirm(confirmed.pk)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["outbox_over_warn_resends"] == len(past)


def test_in_process_a_task_that_crashes_before_confirming_backs_off_like_one_a_worker_lost(schedule):
    """The embedded mode has no broker: the task runs at commit, and its failure is a send."""
    with transaction.atomic():
        message = outbox_enqueue(task="workflows.application_start", kwargs={"application_id": 999999})
    message.refresh_from_db()
    assert message.attempts == 1 and message.confirmed_at is None and message.last_error
    assert message.next_attempt_at - message.sent_at == timedelta(seconds=60)
    assert outbox_relay(now=message.next_attempt_at - SECOND) == 0
    first_resend_at = message.next_attempt_at
    assert outbox_relay(now=first_resend_at) == 0  # it ran again and failed again
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at - first_resend_at == timedelta(seconds=120)
