"""The appointments API: free times and booking of my own step, moving and cancelling my own
booking; someone else's answers 404, a refused booking 409 with the reason."""

import pytest
from django.urls import reverse

from appointments.actions import appointment_book
from appointments.models import Appointment
from appointments.tests.conftest import local

pytestmark = pytest.mark.django_db


def test_free_times_then_book_then_a_second_booking_is_refused(client, alice, inspection):
    client.force_login(alice)
    free = client.get(reverse("appointments-api:step-free-times", args=[inspection.pk])).json()
    assert free["place"] == "market-hall" and len(free["days"]) == 5
    assert free["days"][0]["times"][0] == {
        "time": "2026-12-07T09:00",
        "starts_at": "2026-12-07T09:00:00+08:00",
        "ends_at": "2026-12-07T09:30:00+08:00",
        "free": 2,
    }
    url = reverse("appointments-api:step-book", args=[inspection.pk])
    booked = client.post(url, {"time": "2026-12-07T09:00"}, content_type="application/json")
    assert booked.status_code == 201 and booked.json()["application"] == inspection.application.number
    again = client.post(url, {"time": "2026-12-08T09:00"}, content_type="application/json")
    assert again.status_code == 409 and "already have an appointment" in again.json()["detail"]
    assert [a["id"] for a in client.get(reverse("appointments-api:my-appointments")).json()["results"]] == [
        booked.json()["id"]
    ]


def test_someone_elses_step_or_appointment_is_not_found(client, alice, bob, inspection, offering):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    client.force_login(bob)
    assert client.get(reverse("appointments-api:step-free-times", args=[inspection.pk])).status_code == 404
    assert client.post(reverse("appointments-api:cancel", args=[appointment.pk])).status_code == 404
    assert client.get(reverse("appointments-api:my-appointments")).json()["results"] == []
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_reschedule_and_cancel_my_booking(client, alice, inspection, offering):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    client.force_login(alice)
    moved = client.post(
        reverse("appointments-api:reschedule", args=[appointment.pk]),
        {"time": "2026-12-07T12:00"},
        content_type="application/json",
    )
    assert moved.status_code == 409 and "not a time this place takes" in moved.json()["detail"]
    moved = client.post(
        reverse("appointments-api:reschedule", args=[appointment.pk]),
        {"time": "2026-12-07T10:00"},
        content_type="application/json",
    )
    assert moved.status_code == 201 and moved.json()["starts_at"] == "2026-12-07T10:00:00+08:00"
    cancelled = client.post(reverse("appointments-api:cancel", args=[moved.json()["id"]]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    paths = set(schema["paths"])
    assert {
        "/api/appointments/",
        "/api/appointments/steps/{item_id}/free-times/",
        "/api/appointments/steps/{item_id}/",
        "/api/appointments/{appointment_id}/reschedule/",
        "/api/appointments/{appointment_id}/cancel/",
    } <= paths


def test_the_progress_api_says_what_the_step_waits_for(client, alice, inspection, offering):
    client.force_login(alice)
    url = reverse("workflows-api:my-application", args=[inspection.application.number])
    step = next(s for s in client.get(url).json()["steps"] if s["key"] == "inspection")
    assert step["waiting"] == "Waiting for you to book an appointment."
    assert step["waiting_url"] == reverse("appointments:step-book", args=[inspection.pk])
    appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    step = next(s for s in client.get(url).json()["steps"] if s["key"] == "inspection")
    assert step["waiting"] == "Your appointment: 2026-12-07 at 09:00, Market Regulation hall, counter 3."
