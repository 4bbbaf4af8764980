"""The relay tells a lost message from one merely queued behind a backlog: while the row's queue
on the broker still holds a message sent no later than the row's last send, the row's own message
may be waiting behind it, and re-sending would only add a copy at the back of the same queue.

The broker is the real Redis. Nothing consumes the test queue; a worker taking the oldest
message is played by RPOP (kombu pushes on the left, workers pop on the right)."""

import base64
import json
from datetime import timedelta

import pytest
import redis
from celery import current_app
from django.db import transaction
from django.utils import timezone

from workflows.models import OutboxMessage
from workflows.outbox import OUTBOX_SENT_HEADER, outbox_enqueue, outbox_relay, sent_us

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "dept.backlog"
TASK = "workflows.test_never_confirms"


@pytest.fixture
def broker(use_broker, settings) -> redis.Redis:
    settings.ENGINE_OUTBOX_RESEND_SECONDS = 60
    settings.ENGINE_OUTBOX_MAX_BACKOFF_SECONDS = 3600
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.flushdb()
    return client


def sent_row(number: int) -> OutboxMessage:
    with transaction.atomic():
        message = outbox_enqueue(task=TASK, kwargs={"application_id": number}, queue=QUEUE)
    message.refresh_from_db()
    assert message.attempts == 1
    return message


def waiting_ids(broker: redis.Redis) -> list[int]:
    """The outbox ids of the messages waiting, oldest first."""
    ids = []
    for raw in reversed(broker.lrange(QUEUE, 0, -1)):
        body = json.loads(raw)
        ids.append(json.loads(base64.b64decode(body["body"]))[1]["outbox_id"])
    return ids


def test_each_send_carries_its_time_for_the_relay_to_compare(broker):
    row = sent_row(1)
    header = json.loads(broker.lindex(QUEUE, -1))["headers"][OUTBOX_SENT_HEADER]
    assert header == sent_us(row.sent_at)


def test_a_row_queued_behind_a_backlog_is_not_re_sent_and_its_backoff_does_not_grow(broker):
    backlog = [sent_row(n) for n in range(30)]
    late = backlog[-1]
    due = late.next_attempt_at + timedelta(minutes=5)
    assert outbox_relay(now=due) == 0
    assert broker.llen(QUEUE) == 30  # no copy added behind the backlog
    for row in backlog:
        row.refresh_from_db()
        assert row.attempts == 1  # not counted as a send
        assert row.next_attempt_at == due + timedelta(seconds=60)  # looked at again after the base interval


def test_a_row_whose_message_was_taken_and_lost_is_re_sent_even_with_newer_messages_waiting(broker):
    first, second, third = sent_row(1), sent_row(2), sent_row(3)
    assert waiting_ids(broker) == [first.pk, second.pk, third.pk]
    broker.rpop(QUEUE)  # a worker took the first one and died before its task confirmed
    due = third.next_attempt_at + timedelta(minutes=5)
    assert outbox_relay(now=due) == 1  # the first: the oldest waiting was sent after it
    assert waiting_ids(broker) == [second.pk, third.pk, first.pk]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.attempts == 2 and first.sent_at == due
    assert second.attempts == 1  # still waiting in the queue: left alone


def test_an_empty_queue_means_lost_and_every_due_row_is_re_sent(broker):
    rows = [sent_row(n) for n in range(3)]
    broker.delete(QUEUE)
    assert outbox_relay(now=rows[-1].next_attempt_at) == 3
    assert sorted(waiting_ids(broker)) == sorted(row.pk for row in rows)


def test_a_waiting_message_that_does_not_say_when_it_was_sent_counts_as_older(broker):
    row = sent_row(1)
    broker.delete(QUEUE)
    # Sent outside the outbox (no header), before the row's message was lost.
    current_app.send_task(TASK, kwargs={}, queue=QUEUE)
    assert outbox_relay(now=row.next_attempt_at) == 0
    broker.rpop(QUEUE)  # it was taken: nothing older waits any more
    assert outbox_relay(now=row.next_attempt_at + timedelta(minutes=1)) == 1


def test_a_backlog_draining_releases_the_re_sends_in_order(broker):
    rows = [sent_row(n) for n in range(5)]
    now = rows[-1].next_attempt_at
    for taken in range(1, 6):
        broker.rpop(QUEUE)  # a worker takes the oldest; its task crashes without confirming
        now += timedelta(minutes=2)
        assert outbox_relay(now=now) == 1, f"after {taken} taken"
        assert waiting_ids(broker)[-1] == rows[taken - 1].pk  # the lost one is re-sent, the rest wait


def test_without_a_broker_to_look_at_the_relay_re_sends_as_before(settings):
    """The embedded mode runs tasks in-process: nothing can wait in a queue."""
    assert settings.CELERY_TASK_ALWAYS_EAGER
    now = timezone.now()
    row = OutboxMessage.objects.create(
        task="workflows.application_start", kwargs={"application_id": 999999}, attempts=1,
        sent_at=now - timedelta(hours=1), next_attempt_at=now,
    )  # fmt: skip
    outbox_relay(now=now)
    row.refresh_from_db()
    assert row.attempts == 2
