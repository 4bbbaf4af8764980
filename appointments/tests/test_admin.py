"""Administrators manage places, hours, offerings and closures in the admin; a closure added
there moves the bookings it hits; a changed capacity holds for the times already booked."""

import pytest
from django.urls import reverse

from appointments.actions import appointment_book
from appointments.models import Appointment, Closure, Slot
from appointments.tests.conftest import local

pytestmark = pytest.mark.django_db


def test_a_closure_added_in_the_admin_moves_the_bookings(client, administrator, alice, hall, offering, monday):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(8, 9))
    client.force_login(administrator)
    response = client.post(
        reverse("admin:appointments_closure_add"),
        {
            "place": hall.pk,
            "starts_at_0": "2026-12-08",
            "starts_at_1": "00:00",
            "ends_at_0": "2026-12-08",
            "ends_at_1": "23:59",
            "reason_en": "Power cut",
            "reason_zh": "停电",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Bookings moved to the next free time: 1; cancelled (no free time): 0." in response.text
    assert Closure.objects.get().created_by == administrator
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.RESCHEDULED
    assert appointment.replaced_by.starts_at == local(9, 9)


def test_a_changed_capacity_holds_for_booked_times_without_dropping_anyone(alice, bob, offering, monday):
    from appointments.actions import offering_capacity_apply

    appointment_book(person=alice, offering=offering, starts_at=local(7, 9))
    appointment_book(person=bob, offering=offering, starts_at=local(7, 9))
    offering.capacity = 1
    offering.save(update_fields=["capacity"])
    offering_capacity_apply(offering=offering)
    assert Slot.objects.get().capacity == 2  # both keep their booking, nobody new gets in
    offering.capacity = 5
    offering.save(update_fields=["capacity"])
    offering_capacity_apply(offering=offering)
    assert Slot.objects.get().capacity == 5


def test_the_place_pages_open_for_the_administrator(client, administrator, hall, offering):
    client.force_login(administrator)
    assert client.get(reverse("admin:appointments_place_change", args=[hall.pk])).status_code == 200
    assert client.get(reverse("admin:appointments_closure_add")).status_code == 200
    assert client.get(reverse("admin:appointments_appointment_changelist")).status_code == 200
