"""Notifications: one per event per channel, even when the delivery task runs twice; retried
with backoff when the channel fails (a real SMTP connection to a closed port, then a real SMTP
server); texts in the recipient's language; nothing sent when the transition rolls back."""

import logging
import socket
import socketserver
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from workflows.engine.timers import timers_fire
from workflows.models import Notification, NotificationDelivery, NotificationPreference, WorkItem
from workflows.notifications.deliveries import MAX_ATTEMPTS, deliveries_retry_due, delivery_send
from workflows.notifications.notify import notify
from workflows.progress.tasks import deliver
from workflows.tests.progress_support import ONE_STEP, ask_correction, decide, item, submit

# Date-sensitive: every test runs at each instant of `frozen_now` (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
State = NotificationDelivery.State


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for Django's backend: greet, accept one message per DATA."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test SMTP ready")
        while raw := self.rfile.readline():
            command = raw.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 test")
            elif command.startswith("DATA"):
                self.reply("354 end with .")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line)
                self.server.messages.append(b"".join(lines).decode(errors="replace"))  # type: ignore[attr-defined]
                self.reply("250 queued")
            elif command.startswith("QUIT"):
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def start_smtp(port: int) -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), SmtpHandler)
    server.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def deliveries(user, event) -> dict[str, NotificationDelivery]:
    return {
        d.channel: d for d in NotificationDelivery.objects.filter(notification__user=user, notification__event=event)
    }


def test_receipt_goes_to_inbox_and_email_once_even_when_the_task_runs_twice(alice, django_capture_on_commit_callbacks):
    application = submit(django_capture_on_commit_callbacks, applicant=alice)
    notification = Notification.objects.get(user=alice, event=Notification.Event.RECEIPT)
    assert application.number in notification.subject
    sent = deliveries(alice, Notification.Event.RECEIPT)
    assert set(sent) == {"in_app", "email"}
    assert all(d.state == State.SENT for d in sent.values())
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.org"]
    # The outbox relay re-sends, or the broker redelivers: the task runs again.
    assert deliver.apply(kwargs={"delivery_id": sent["email"].pk}).get() == "skipped"
    assert delivery_send(delivery_id=sent["email"].pk) == "skipped"
    assert len(mail.outbox) == 1
    sent["email"].refresh_from_db()
    assert sent["email"].attempts == 1


def test_sms_goes_through_the_gateway_once(alice, django_capture_on_commit_callbacks, caplog):
    NotificationPreference.objects.create(user=alice, email=False, sms=True, phone="13800138000")
    caplog.set_level(logging.INFO, logger="workflows.notifications.sms")
    submit(django_capture_on_commit_callbacks, applicant=alice)
    sent = deliveries(alice, Notification.Event.RECEIPT)
    assert set(sent) == {"in_app", "sms"}
    assert sent["sms"].state == State.SENT
    deliver.apply(kwargs={"delivery_id": sent["sms"].pk})
    lines = [r.getMessage() for r in caplog.records if r.name == "workflows.notifications.sms"]
    assert len(lines) == 1
    assert "*******8000" in lines[0] and "13800138000" not in lines[0]
    assert mail.outbox == []


def test_a_failing_smtp_server_is_retried_with_backoff_until_it_answers(
    alice, smtp_port, django_capture_on_commit_callbacks
):
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_port,
        EMAIL_TIMEOUT=2,
    ):
        with transaction.atomic():
            notification = notify(user=alice, event=Notification.Event.RATING_INVITATION, context={})
        email = notification.deliveries.get(channel="email")
        # Nothing listens on the port yet: a real connection refused.
        assert delivery_send(delivery_id=email.pk) == State.RETRYING
        email.refresh_from_db()
        assert email.state == State.RETRYING and email.attempts == 1
        assert "refused" in email.last_error.lower()
        assert timedelta(seconds=50) < email.next_attempt_at - timezone.now() <= timedelta(minutes=1)
        # Not due yet: a second run of the task does nothing.
        assert delivery_send(delivery_id=email.pk) == "skipped"
        # The backoff passes and the server is up: the sweep re-sends through the outbox.
        server = start_smtp(smtp_port)
        try:
            NotificationDelivery.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
            with django_capture_on_commit_callbacks(execute=True):
                assert deliveries_retry_due() == 1
            email.refresh_from_db()
            assert email.state == State.SENT and email.attempts == 2 and email.last_error == ""
            assert len(server.messages) == 1  # type: ignore[attr-defined]
            assert "Rate the service" in server.messages[0] or "rate" in server.messages[0].lower()  # type: ignore[attr-defined]
            assert deliveries_retry_due() == 0
            deliver.apply(kwargs={"delivery_id": email.pk})
            assert len(server.messages) == 1  # type: ignore[attr-defined]
        finally:
            server.shutdown()
            server.server_close()


def test_a_delivery_that_keeps_failing_ends_failed_and_visible(alice, smtp_port):
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp_port
    ):
        with transaction.atomic():
            notification = notify(user=alice, event=Notification.Event.RATING_INVITATION, context={})
        email = notification.deliveries.get(channel="email")
        for _attempt in range(MAX_ATTEMPTS):
            NotificationDelivery.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
            delivery_send(delivery_id=email.pk)
        email.refresh_from_db()
        assert email.state == State.FAILED and email.attempts == MAX_ATTEMPTS
        assert email.next_attempt_at is None
        assert notification.deliveries.get(channel="in_app").state == State.SENT


def test_sms_gateway_down_is_retried(alice, settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "workflows.notifications.sms.UnreachableSmsBackend"
    NotificationPreference.objects.create(user=alice, email=False, sms=True, phone="13800138000")
    with transaction.atomic():
        notification = notify(user=alice, event=Notification.Event.RATING_INVITATION, context={})
    sms = notification.deliveries.get(channel="sms")
    assert delivery_send(delivery_id=sms.pk) == State.RETRYING
    settings.SMS_BACKEND = "workflows.notifications.sms.LoggingSmsBackend"
    NotificationDelivery.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_retry_due()
    sms.refresh_from_db()
    assert sms.state == State.SENT and sms.attempts == 2


def test_nothing_is_sent_when_the_transition_rolls_back(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        notify(user=alice, event=Notification.Event.RATING_INVITATION, context={})
        raise RuntimeError("the transition failed")
    assert not Notification.objects.filter(user=alice).exists()
    assert mail.outbox == []


def test_the_same_event_notified_twice_is_one_message(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(user=alice, event=Notification.Event.RATING_INVITATION, context={}, dedupe_key="k1")
        second = notify(user=alice, event=Notification.Event.RATING_INVITATION, context={}, dedupe_key="k1")
    assert first.pk == second.pk
    assert Notification.objects.filter(user=alice).count() == 1
    assert len(mail.outbox) == 1


def test_texts_are_in_the_recipients_language(alice, django_capture_on_commit_callbacks):
    alice.preferred_language = "zh-hans"
    alice.save(update_fields=["preferred_language"])
    application = submit(django_capture_on_commit_callbacks, applicant=alice)
    notification = Notification.objects.get(user=alice, event=Notification.Event.RECEIPT)
    assert notification.subject == f"我们已收到您的申请 {application.number}"
    assert "服务 " in notification.body  # the service's Chinese name
    assert mail.outbox[0].subject == notification.subject


def test_correction_decision_and_rating_invitation_reach_the_applicant(
    alice, clerk_a, django_capture_on_commit_callbacks
):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    ask_correction(django_capture_on_commit_callbacks, application, "licence", clerk_a, message="Wrong name")
    correction = Notification.objects.get(user=alice, event=Notification.Event.CORRECTION_REQUESTED)
    assert "Wrong name" in correction.body and "Please reply by" in correction.body
    assert correction.link == reverse("workflows:progress-application", args=[application.number])
    work_item = item(application, "licence")
    with django_capture_on_commit_callbacks(execute=True):
        from workflows.engine.actions import correction_submit

        correction_submit(application_id=application.pk, applicant=alice, data={"business.name": "X"}, documents={})
    decide(
        django_capture_on_commit_callbacks, application, "licence", clerk_a, decision="rejected", reasons=["No lease"]
    )
    decision = Notification.objects.get(user=alice, event=Notification.Event.DECISION)
    assert "refused" in decision.subject and "No lease" in decision.body
    assert Notification.objects.filter(user=alice, event=Notification.Event.RATING_INVITATION).count() == 1
    assert work_item.pk  # the step the correction belonged to
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == len(set(subjects)) == 4  # receipt, correction, decision, rating invitation


def test_deadline_warning_reaches_the_clerk_and_escalation_the_supervisors(
    alice, clerk_a, supervisor, django_capture_on_commit_callbacks
):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    work_item = item(application, "licence")
    with django_capture_on_commit_callbacks(execute=True):
        from workflows.engine.actions import work_item_claim

        work_item_claim(work_item_id=work_item.pk, clerk=clerk_a)
    work_item.refresh_from_db()
    # The step's deadline timers are its columns: the warning before the due time, the
    # escalation at it.
    assert work_item.warning_at < work_item.escalate_at == work_item.statutory_due_at
    WorkItem.objects.filter(pk=work_item.pk).update(warning_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        timers_fire()
        timers_fire()  # a second sweep fires nothing again
    assert WorkItem.objects.get(pk=work_item.pk).warning_at is None
    warning = Notification.objects.get(user=clerk_a, event=Notification.Event.STATUTORY_DEADLINE)
    assert "Deadline approaching" in warning.subject
    assert work_item.step_label in warning.subject and "licence" not in warning.subject  # the step's name
    assert not Notification.objects.filter(user=supervisor, event=Notification.Event.STATUTORY_DEADLINE).exists()
    WorkItem.objects.filter(pk=work_item.pk).update(escalate_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        timers_fire()
    overdue = Notification.objects.get(user=supervisor, event=Notification.Event.STATUTORY_DEADLINE)
    assert overdue.subject.startswith("Overdue")
    assert work_item.status in WorkItem.LIVE


def test_header_shows_the_unread_count_with_one_query(client, alice, django_assert_num_queries):
    with transaction.atomic():
        notify(user=alice, event=Notification.Event.RATING_INVITATION, context={})
        notify(user=alice, event=Notification.Event.RATING_INVITATION, context={"x": 1})
    from django.test import RequestFactory

    from portal.context_processors import inbox

    request = RequestFactory().get("/")
    request.user = alice
    with django_assert_num_queries(1):
        assert int(str(inbox(request)["inbox_unread"])) == 2
    client.force_login(alice)
    page = client.get(reverse("portal:home")).content.decode()
    assert 'id="inbox-unread">2' in page


def test_inbox_reading_and_outsiders(client, alice, bob):
    with transaction.atomic():
        notification = notify(user=alice, event=Notification.Event.RATING_INVITATION, context={})
    client.force_login(bob)
    assert client.get(reverse("workflows:progress-message", args=[notification.pk])).status_code == 404
    assert client.post(f"/api/notifications/{notification.pk}/read/").status_code == 404
    assert notification.subject not in client.get(reverse("workflows:progress-inbox")).content.decode()
    notification.refresh_from_db()
    assert notification.read_at is None
    client.force_login(alice)
    inbox_page = client.get(reverse("workflows:progress-inbox")).content.decode()
    assert notification.subject in inbox_page and "New" in inbox_page
    assert client.get(reverse("workflows:progress-message", args=[notification.pk])).status_code == 200
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_channel_preferences_form(client, alice):
    client.force_login(alice)
    url = reverse("workflows:progress-preferences")
    response = client.post(url, {"sms": "on", "phone": ""})
    assert response.status_code == 400
    assert "Enter a mobile phone number to receive text messages." in response.content.decode()
    response = client.post(url, {"sms": "on", "phone": "12345"})
    assert "11 digits" in response.content.decode() and 'value="12345"' in response.content.decode()
    assert client.post(url, {"sms": "on", "phone": "13800138000"}).status_code == 302
    preference = NotificationPreference.objects.get(user=alice)
    assert (preference.email, preference.sms, preference.phone) == (False, True, "13800138000")


def test_a_bundle_gets_one_receipt_and_one_rating_invitation_when_its_last_application_is_decided(
    alice, clerk_a, django_capture_on_commit_callbacks
):
    from workflows.models import Application
    from workflows.outbox import outbox_enqueue
    from workflows.tests.factories import application_submit, published_version

    first = application_submit(applicant=alice, version=published_version(route=ONE_STEP), start=False)
    second = application_submit(applicant=alice, version=published_version(route=ONE_STEP), start=False)
    Application.objects.filter(pk=second.pk).update(group_id=first.group_id)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for application in (first, second):
            outbox_enqueue(task="workflows.application_start", kwargs={"application_id": application.pk})

    receipts = Notification.objects.filter(user=alice, event=Notification.Event.RECEIPT)
    assert receipts.count() == 1
    body = receipts.get().body
    assert first.number in body and second.number in body and "2 applications" in body
    first.refresh_from_db()
    second.refresh_from_db()
    decide(django_capture_on_commit_callbacks, first, "licence", clerk_a)
    invitations = Notification.objects.filter(user=alice, event=Notification.Event.RATING_INVITATION)
    assert not invitations.exists()  # one department has decided, the other has not yet
    decide(django_capture_on_commit_callbacks, second, "licence", clerk_a)
    assert invitations.count() == 1
    assert first.number in invitations.get().body and second.number in invitations.get().body
