"""An e-mail that has left is recorded as sent by one statement in autocommit whose commit does
not wait for the WAL flush (`synchronous_commit` off for that statement's own transaction only):
for the batch the notification task sends and for a single delivery the sweep sends. Every other
transaction of the connection, before and after, commits synchronously."""

from contextlib import contextmanager

import pytest
from django.core import mail
from django.db import connection, transaction

from workflows.models import Notification, NotificationDelivery
from workflows.notifications.deliveries import delivery_send
from workflows.tests.progress_support import ONE_STEP, decide, submit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commits are PostgreSQL's"),
]
State = NotificationDelivery.State
SENT_MARK = "set_config('synchronous_commit', 'off', true)"


@contextmanager
def sent_marks_settings():
    """The `synchronous_commit` each "sent" mark ran with, read by the mark's own statement (a
    RETURNING added to it), and the setting of every other write the connection made meanwhile."""
    seen: dict[str, list[str]] = {"marks": [], "others": []}

    def wrapper(execute, sql, params, many, context):
        if SENT_MARK in sql:
            assert connection.get_autocommit(), "a sent mark runs in its own transaction"
            result = execute(f"{sql.rstrip()} RETURNING current_setting('synchronous_commit')", params, many, context)
            seen["marks"] += [row[0] for row in context["cursor"].fetchall()]
            return result
        result = execute(sql, params, many, context)
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('synchronous_commit')")
                seen["others"].append(cursor.fetchone()[0])
        return result

    with connection.execute_wrapper(wrapper):
        yield seen


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_batch_records_each_email_sent_with_a_commit_of_its_own_that_does_not_wait(
    alice, clerk_a, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with sent_marks_settings() as seen:
        application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
        decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    # The receipt, then the decision and the rating invitation: three e-mails, three marks.
    assert len(mail.outbox) == 3
    assert seen["marks"] == ["off", "off", "off"]
    assert seen["others"] and set(seen["others"]) == {"on"}
    emails = NotificationDelivery.objects.filter(notification__application=application, channel="email")
    assert sorted(emails.values_list("state", flat=True)) == [State.SENT] * 3
    assert not emails.filter(sent_at__isnull=True).exists()
    # The connection's next transactions, in autocommit or in a block, commit synchronously.
    assert synchronous_commit() == "on"
    with transaction.atomic():
        assert synchronous_commit() == "on"


def test_a_single_delivery_is_recorded_sent_with_a_commit_that_does_not_wait(alice, django_capture_on_commit_callbacks):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    email = NotificationDelivery.objects.get(
        notification__application=application, notification__event=Notification.Event.RECEIPT, channel="email"
    )
    # As if its first send had failed: the sweep sends it again, alone.
    NotificationDelivery.objects.filter(pk=email.pk).update(state=State.RETRYING, next_attempt_at=None)
    mail.outbox.clear()
    with sent_marks_settings() as seen:
        assert delivery_send(delivery_id=email.pk) == "sent"
        assert delivery_send(delivery_id=email.pk) == "skipped"
    assert seen["marks"] == ["off"]
    assert set(seen["others"]) == {"on"}  # the claim before it
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.state == State.SENT and email.sent_at is not None
    assert synchronous_commit() == "on"


def test_inside_a_transaction_the_mark_is_a_plain_update_and_the_transaction_stays_synchronous(
    alice, django_capture_on_commit_callbacks
):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    email = NotificationDelivery.objects.get(
        notification__application=application, notification__event=Notification.Event.RECEIPT, channel="email"
    )
    NotificationDelivery.objects.filter(pk=email.pk).update(state=State.RETRYING, next_attempt_at=None)
    with sent_marks_settings() as seen, transaction.atomic():
        assert delivery_send(delivery_id=email.pk) == "sent"
        assert synchronous_commit() == "on"
    assert seen["marks"] == []
    email.refresh_from_db()
    assert email.state == State.SENT
