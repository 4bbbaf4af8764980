"""A closure moves the bookings it hits to the next free time, or cancels them, and tells people."""

from datetime import date, time

import pytest

from appointments.actions import appointment_book, closure_add
from appointments.models import Appointment, Offering, OpeningHours, Place
from appointments.slots import free_page
from appointments.tests.conftest import local
from workflows.models import Notification

pytestmark = pytest.mark.django_db


def test_a_closure_moves_bookings_to_the_next_free_time_and_tells_them(alice, bob, offering, hall, monday):
    offering.capacity = 1
    offering.save(update_fields=["capacity"])
    first = appointment_book(person=alice, offering=offering, starts_at=local(8, 9))
    second = appointment_book(person=bob, offering=offering, starts_at=local(8, 9, 30))
    _closure, moved, cancelled = closure_add(
        place=hall, starts_at=local(8, 0), ends_at=local(8, 12), reason_en="Water leak", actor=None
    )
    assert (moved, cancelled) == (2, 0)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Appointment.Status.RESCHEDULED
    assert (first.replaced_by.starts_at, second.replaced_by.starts_at) == (local(8, 14), local(8, 14, 30))
    told = Notification.objects.filter(event=Notification.Event.APPOINTMENT_MOVED)
    assert {n.user for n in told} == {alice, bob}
    assert "Water leak" in told.get(user=alice).body
    # The closed morning is offered to nobody.
    tuesday = next(day for day in free_page(offering).days if day.day == date(2026, 12, 8))
    assert all(t.starts_at >= local(8, 12) for t in tuesday.times)


def test_a_closure_with_no_free_time_after_it_cancels_with_a_notice(alice, monday, inspection_version):
    place = Place.objects.create(department=inspection_version.service.lead_department, code="kiosk", name_en="Kiosk")
    OpeningHours.objects.create(place=place, weekday=0, opens=time(9), closes=time(10))
    offering = Offering.objects.create(
        place=place, service=inspection_version.service, slot_minutes=60, capacity=1, days_ahead=3
    )
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9))
    _closure, moved, cancelled = closure_add(
        place=place, starts_at=local(7, 8), ends_at=local(7, 11), reason_en="Staff training", actor=None
    )
    assert (moved, cancelled) == (0, 1)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED and appointment.slot.booked == 0
    notice = Notification.objects.get(user=alice, event=Notification.Event.APPOINTMENT_CANCELLED)
    assert "Staff training" in notice.body
