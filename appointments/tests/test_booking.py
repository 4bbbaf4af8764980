"""Booking, rescheduling and cancelling: the seat counts, the refusals, and what people are told."""

import pytest
from django.core import mail
from icalendar import Calendar

from appointments.actions import appointment_book, appointment_cancel, appointment_reschedule, reminders_send
from appointments.models import Appointment, Slot
from appointments.slots import BookingRefused
from appointments.tests.conftest import local
from workflows.models import Notification

pytestmark = pytest.mark.django_db


def booked(slot_start) -> int:
    return Slot.objects.filter(starts_at=slot_start).values_list("booked", flat=True).first() or 0


def test_booking_a_step_takes_one_seat_and_sends_a_confirmation_with_a_calendar_file(
    alice, inspection, offering, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9, 30), work_item=inspection)
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.application_id == inspection.application_id
    assert booked(local(7, 9, 30)) == 1
    notification = Notification.objects.get(user=alice, event=Notification.Event.APPOINTMENT_BOOKED)
    assert "9:30" in notification.subject or "09:30" in notification.subject
    assert "/appointments/manage/" in notification.link
    # In the e-mail: the .ics, one event at the booked time and place.
    email = next(message for message in mail.outbox if "booked" in message.subject)
    filename, content, mimetype = email.attachments[0]
    assert (filename, mimetype) == ("appointment.ics", "text/calendar")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == local(7, 9, 30)
    assert "counter 3" in str(event.get("location"))


def test_a_full_slot_is_refused_and_nothing_changes(alice, bob, offering, monday):
    carol = type(alice).objects.create_user(username="carol", password="x", email="carol@example.org")
    appointment_book(person=alice, offering=offering, starts_at=local(7, 10))
    appointment_book(person=bob, offering=offering, starts_at=local(7, 10))
    with pytest.raises(BookingRefused, match="fully booked"):
        appointment_book(person=carol, offering=offering, starts_at=local(7, 10))
    assert booked(local(7, 10)) == 2
    assert not Appointment.objects.filter(person=carol).exists()


def test_a_slot_in_the_past_or_outside_the_hours_is_refused(alice, offering, monday):
    with pytest.raises(BookingRefused, match="already passed"):
        appointment_book(person=alice, offering=offering, starts_at=local(4, 10))  # last Friday
    with pytest.raises(BookingRefused, match="not a time this place takes"):
        appointment_book(person=alice, offering=offering, starts_at=local(7, 12, 30))  # lunch
    with pytest.raises(BookingRefused, match="not a time this place takes"):
        appointment_book(person=alice, offering=offering, starts_at=local(12, 10))  # Saturday
    with pytest.raises(BookingRefused, match="Choose a time"):
        appointment_book(person=alice, offering=offering, starts_at=None)
    assert not Slot.objects.exists()


def test_a_second_active_booking_for_the_same_step_is_refused(alice, inspection, offering):
    appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    with pytest.raises(BookingRefused, match="already have an appointment"):
        appointment_book(person=alice, offering=offering, starts_at=local(8, 9), work_item=inspection)
    assert booked(local(8, 9)) == 0


def test_reschedule_books_the_new_time_then_gives_the_old_seat_back(alice, inspection, offering):
    old = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    new = appointment_reschedule(appointment_id=old.pk, starts_at=local(8, 14))
    old.refresh_from_db()
    assert old.status == Appointment.Status.RESCHEDULED and old.replaced_by_id == new.pk
    assert new.work_item_id == inspection.pk and new.status == Appointment.Status.BOOKED
    assert (booked(local(7, 9)), booked(local(8, 14))) == (0, 1)


def test_a_reschedule_to_a_full_time_keeps_the_old_booking(alice, bob, inspection, offering):
    carol = type(alice).objects.create_user(username="carol", password="x")
    appointment_book(person=bob, offering=offering, starts_at=local(8, 14))
    appointment_book(person=carol, offering=offering, starts_at=local(8, 14))
    old = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    with pytest.raises(BookingRefused, match="fully booked"):
        appointment_reschedule(appointment_id=old.pk, starts_at=local(8, 14))
    old.refresh_from_db()
    assert old.status == Appointment.Status.BOOKED and booked(local(7, 9)) == 1


def test_cancel_gives_the_seat_back_once(alice, offering, monday, django_capture_on_commit_callbacks):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 11))
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment_id=appointment.pk)
    with pytest.raises(BookingRefused, match="already cancelled"):
        appointment_cancel(appointment_id=appointment.pk)
    assert booked(local(7, 11)) == 0
    assert Notification.objects.filter(user=alice, event=Notification.Event.APPOINTMENT_CANCELLED).count() == 1
    ics = next(m for m in mail.outbox if "cancelled" in m.subject).attachments[0][1]
    assert "STATUS:CANCELLED" in ics


def test_the_reminder_goes_the_day_before_once(alice, bob, offering, monday):
    tomorrow = appointment_book(person=alice, offering=offering, starts_at=local(8, 9))
    appointment_book(person=bob, offering=offering, starts_at=local(9, 9))  # the day after tomorrow
    assert reminders_send() == 1
    assert reminders_send() == 0
    reminder = Notification.objects.get(event=Notification.Event.APPOINTMENT_REMINDER)
    assert reminder.user == alice and reminder.attachments[0]["filename"] == "appointment.ics"
    tomorrow.refresh_from_db()
    assert tomorrow.reminded_at is not None
