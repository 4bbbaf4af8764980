"""The signed change-and-cancel link: it works without signing in, cannot be forged, and a link
used already or after the appointment gives a clear page."""

import pytest
from django.urls import reverse

from appointments.actions import appointment_book
from appointments.links import manage_path, manage_token
from appointments.models import Appointment
from appointments.tests.conftest import local

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment(alice, offering, monday):
    return appointment_book(person=alice, offering=offering, starts_at=local(8, 9))


def test_the_link_shows_the_appointment_without_signing_in(client, appointment):
    page = client.get(manage_path(appointment.pk))
    assert page.status_code == 200
    assert "Tuesday 8 December 2026, 09:00–09:30" in page.text and "Change the time" in page.text
    ics = client.get(reverse("appointments:calendar", args=[manage_token(appointment.pk)]))
    assert ics["Content-Type"].startswith("text/calendar") and b"BEGIN:VEVENT" in ics.content


def test_a_forged_or_altered_link_is_not_found(client, appointment):
    token = manage_token(appointment.pk)
    assert client.get(reverse("appointments:manage", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("appointments:manage", args=["not-a-token"])).status_code == 404


def test_an_expired_link_is_not_found(client, appointment, monday):
    token = manage_token(appointment.pk)
    monday.shift(200 * 86400)
    assert client.get(reverse("appointments:manage", args=[token])).status_code == 404


def test_reschedule_through_the_link_then_the_old_link_says_it_was_used(client, appointment):
    token = manage_token(appointment.pk)
    response = client.post(reverse("appointments:reschedule", args=[token]), {"time": "2026-12-09T10:00"})
    assert response.status_code == 302
    new = Appointment.objects.get(replaced_by__isnull=True, status=Appointment.Status.BOOKED)
    assert response.url == manage_path(new.pk)
    again = client.post(reverse("appointments:reschedule", args=[token]), {"time": "2026-12-10T10:00"})
    assert again.status_code == 410
    assert "already moved to another time" in again.text and "Wednesday 9 December 2026, 10:00" in again.text


def test_cancel_through_the_link_twice(client, appointment):
    token = manage_token(appointment.pk)
    assert "Cancel your appointment?" in client.get(reverse("appointments:cancel", args=[token])).text
    assert client.post(reverse("appointments:cancel", args=[token])).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    again = client.post(reverse("appointments:cancel", args=[token]))
    assert again.status_code == 410 and "already cancelled" in again.text


def test_after_the_appointment_the_link_cannot_change_it(client, appointment, monday):
    monday.move_to(local(8, 10))
    page = client.get(reverse("appointments:cancel", args=[manage_token(appointment.pk)]))
    assert page.status_code == 410 and "has come or passed" in page.text
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
