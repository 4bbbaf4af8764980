"""The counter's day list: staff of the place's department only; check-in, done, did not come."""

import pytest
from django.urls import reverse

from appointments.actions import appointment_book
from appointments.models import Appointment
from appointments.tests.conftest import local

pytestmark = pytest.mark.django_db


@pytest.fixture
def todays(alice, bob, offering, monday):
    return [
        appointment_book(person=alice, offering=offering, starts_at=local(7, 9)),
        appointment_book(person=bob, offering=offering, starts_at=local(7, 14)),
    ]


def test_the_clerk_sees_the_day_list_of_their_place(client, clerk_a, todays, django_assert_max_num_queries):
    client.force_login(clerk_a)
    with django_assert_max_num_queries(25):
        page = client.get(reverse("appointments:counter"), {"place": "market-hall", "day": "2026-12-07"})
    assert page.status_code == 200
    assert page.text.count("data-appointment=") == 2
    # In the page's main part: the CSRF tokens above it (random letters) may spell "Bob".
    main = page.text[page.text.index("<main") :]
    assert main.index("Alice") < main.index("Bob")
    assert "Check in" in page.text and "Mark done" in page.text


def test_outsiders_get_not_found(client, clerk_b, alice, todays):
    client.force_login(alice)
    assert client.get(reverse("appointments:counter")).status_code == 404
    for person in (clerk_b, alice):
        client.force_login(person)
        assert client.post(reverse("appointments:counter-mark", args=[todays[0].pk, "done"])).status_code == 404
    todays[0].refresh_from_db()
    assert todays[0].status == Appointment.Status.BOOKED


def test_check_in_then_done(client, clerk_a, todays):
    client.force_login(clerk_a)
    response = client.post(reverse("appointments:counter-mark", args=[todays[0].pk, "check-in"]))
    assert response.status_code == 302 and "day=2026-12-07" in response.url
    client.post(reverse("appointments:counter-mark", args=[todays[0].pk, "done"]))
    todays[0].refresh_from_db()
    assert todays[0].status == Appointment.Status.DONE and todays[0].finished_by == clerk_a
    page = client.get(response.url)
    assert "Done" in page.text


def test_marking_a_future_visit_as_not_kept_is_refused_with_a_message(client, clerk_a, todays):
    client.force_login(clerk_a)
    page = client.post(reverse("appointments:counter-mark", args=[todays[1].pk, "no-show"]), follow=True)
    assert "The appointment has not begun yet." in page.text
    todays[1].refresh_from_db()
    assert todays[1].status == Appointment.Status.BOOKED


def test_staff_of_a_department_without_places_see_an_empty_state(client, clerk_b):
    client.force_login(clerk_b)
    page = client.get(reverse("appointments:counter"))
    assert page.status_code == 200 and "None of your departments has a place" in page.text
