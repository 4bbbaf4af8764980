"""The notification task builds a batch of events in one transaction and sends what leaves the
portal itself, one batch per channel: a batch that fails while building writes and sends
nothing, and its re-send notifies once; a sender that dies in the middle of a batch sends none
of what it already sent again, and the delivery sweep sends the rest once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import override_settings
from django.utils import timezone

from workflows.models import ApplicationEvent, Notification, NotificationDelivery
from workflows.notifications import hooks
from workflows.notifications.deliveries import STUCK_AFTER, deliveries_retry_due
from workflows.tests.progress_support import ONE_STEP, decide, submit

pytestmark = pytest.mark.django_db
State = NotificationDelivery.State


class WorkerDied(BaseException):
    """The process sending the batch is gone (not an error any code of ours would catch)."""


class DiesOnSecondMessage(BaseEmailBackend):
    """Delivers into django.core.mail.outbox like the in-memory backend; the process dies while
    sending the second message it is given."""

    handed: list[str] = []

    def send_messages(self, email_messages):
        for message in email_messages:
            DiesOnSecondMessage.handed.append(message.subject)
            if len(DiesOnSecondMessage.handed) == 2:
                raise WorkerDied
            mail.outbox.append(message)
        return len(email_messages)


def test_a_batch_that_fails_while_building_writes_nothing_and_its_resend_notifies_once(
    alice, bob, django_capture_on_commit_callbacks, monkeypatch
):
    first = submit(django_capture_on_commit_callbacks, applicant=alice)
    second = submit(django_capture_on_commit_callbacks, applicant=bob)
    started = list(
        ApplicationEvent.objects.filter(application__in=[first, second], kind=ApplicationEvent.Kind.ROUTING_STARTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # As if their notification task had not run yet.
    Notification.objects.filter(application__in=[first, second]).delete()
    mail.outbox.clear()

    receipt = hooks.HANDLERS[ApplicationEvent.Kind.ROUTING_STARTED]
    handled = []

    def fails_on_the_second_event(event, application):
        handled.append(event.pk)
        if len(handled) == 2:
            raise RuntimeError("the task died building the batch")
        receipt(event, application)

    monkeypatch.setitem(hooks.HANDLERS, ApplicationEvent.Kind.ROUTING_STARTED, fails_on_the_second_event)
    with pytest.raises(RuntimeError):
        hooks.events_notify(event_ids=started)
    assert handled == started
    assert not Notification.objects.filter(application__in=[first, second]).exists()
    assert mail.outbox == []

    monkeypatch.setitem(hooks.HANDLERS, ApplicationEvent.Kind.ROUTING_STARTED, receipt)
    assert hooks.events_notify(event_ids=started) == 2  # the relay sends the batch again
    assert hooks.events_notify(event_ids=started) == 2  # and once more: nothing new
    receipts = Notification.objects.filter(application__in=[first, second], event=Notification.Event.RECEIPT)
    assert sorted(receipts.values_list("user__username", flat=True)) == sorted([alice.username, bob.username])
    assert sorted(message.to[0] for message in mail.outbox) == sorted([alice.email, bob.email])
    assert set(NotificationDelivery.objects.filter(notification__in=receipts).values_list("channel", "state")) == {
        ("in_app", State.SENT),
        ("email", State.SENT),
    }


def test_a_sender_dying_in_the_middle_of_a_batch_sends_nothing_twice(
    alice, clerk_a, django_capture_on_commit_callbacks
):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    mail.outbox.clear()
    DiesOnSecondMessage.handed = []
    backend = f"{__name__}.DiesOnSecondMessage"
    # The decision's batch holds two e-mails to the applicant: the decision and the rating invitation.
    with override_settings(EMAIL_BACKEND=backend), pytest.raises(WorkerDied):
        decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    emails = NotificationDelivery.objects.filter(notification__application=application, channel="email").exclude(
        notification__event=Notification.Event.RECEIPT
    )
    assert sorted(emails.values_list("state", flat=True)) == [State.SENDING, State.SENT]
    assert len(mail.outbox) == 1
    sent_first = mail.outbox[0].subject

    # The relay sends the notification task again: everything is built already, nothing is sent.
    approved = ApplicationEvent.objects.get(application=application, kind=ApplicationEvent.Kind.APPLICATION_APPROVED)
    with override_settings(EMAIL_BACKEND=backend):
        assert hooks.events_notify(event_ids=[approved.pk]) == 1
    assert len(mail.outbox) == 1 and len(DiesOnSecondMessage.handed) == 2

    # The delivery sweep frees the one left "sending" and sends it, once.
    NotificationDelivery.objects.filter(pk__in=emails, state=State.SENDING).update(
        updated_at=timezone.now() - STUCK_AFTER - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_retry_due() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_retry_due() == 0
    assert set(emails.values_list("state", flat=True)) == {State.SENT}
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) == len(set(subjects)) == 2 and sent_first in subjects
    assert sorted(Notification.objects.filter(application=application).values_list("event", flat=True)) == sorted(
        [Notification.Event.RECEIPT, Notification.Event.DECISION, Notification.Event.RATING_INVITATION]
    )
