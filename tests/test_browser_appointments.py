"""End to end in Chromium: Alice books a time for the inspection her application waits for,
moves it through her change link, and the clerk at the counter marks the visit done, after
which the route goes on to the licence review. Every appointment page is axe clean."""

from datetime import time

import pytest
from django.utils import timezone

from appointments.models import Appointment, Offering, OpeningHours, Place
from tests.support.browser import sign_in
from workflows.models import WorkItem
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INSPECTION_ROUTE = {
    "steps": [
        {"key": "inspection", "department": "market", "kind": "appointment", "label_en": "Inspection of the premises"},
        {"key": "licence", "department": "market", "kind": "review", "after": ["inspection"], "label_en": "Licence"},
    ]
}


@pytest.fixture
def application(alice, clerk_a, department_a):
    application = routed_application(applicant=alice, version=version_with(INSPECTION_ROUTE))
    hall = Place.objects.create(department=department_a, code="market-hall", name_en="Market hall, counter 3")
    OpeningHours.objects.bulk_create(
        [OpeningHours(place=hall, weekday=day, opens=time(8), closes=time(20)) for day in range(7)]
    )
    Offering.objects.create(place=hall, service=application.service, slot_minutes=30, capacity=2)
    return application


def test_alice_books_and_moves_the_inspection_and_the_clerk_marks_it_done(
    page, password, application, assert_accessible
):
    sign_in(page, "alice", password)
    page.goto(f"/applications/{application.number}/")
    row = page.locator("tr[data-step=inspection]")
    assert "Waiting for you to book an appointment." in row.inner_text()
    row.get_by_role("link", name="Book a time").click()
    assert page.get_by_role("heading", name="Book a time: Inspection of the premises").is_visible()
    assert_accessible(page)

    # Nothing chosen: a clear message, the same days still listed.
    page.get_by_role("button", name="Book this time").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert page.get_by_text("Choose a time from the list.").first.is_visible()
    assert_accessible(page)

    times = page.locator("input[name=time]")
    first_time = times.nth(0).get_attribute("value")
    times.nth(0).check()
    page.get_by_role("button", name="Book this time").click()
    assert page.get_by_role("heading", name="Your appointment").is_visible()
    assert page.get_by_text("Your appointment is booked.").is_visible()
    assert_accessible(page)
    booked = Appointment.objects.get(status=Appointment.Status.BOOKED)
    assert timezone.localtime(booked.starts_at).strftime("%Y-%m-%dT%H:%M") == first_time

    # Move it through the change link (no sign-in needed for it).
    page.get_by_role("link", name="Change the time").click()
    assert page.get_by_role("heading", name="Choose a new time").is_visible()
    assert_accessible(page)
    times = page.locator("input[name=time]")
    second_time = times.nth(1).get_attribute("value")
    times.nth(1).check()
    page.get_by_role("button", name="Move my appointment").click()
    assert page.get_by_text("Your appointment has been moved.").is_visible()
    moved = Appointment.objects.get(status=Appointment.Status.BOOKED)
    assert timezone.localtime(moved.starts_at).strftime("%Y-%m-%dT%H:%M") == second_time
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.RESCHEDULED

    # The progress page shows the booked time next to the step's clock.
    page.goto(f"/applications/{application.number}/")
    assert (
        f"Your appointment: {second_time.replace('T', ' at ')}" in page.locator("tr[data-step=inspection]").inner_text()
    )
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("networkidle")

    # The clerk at the counter: the day list, then the visit marked done.
    sign_in(page, "clerk.a", password)
    page.goto(f"/appointments/counter/?place=market-hall&day={second_time[:10]}")
    assert page.get_by_role("heading", name="Appointments of the day").is_visible()
    assert "Alice Wang" in page.locator("#day-list").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Mark done Alice Wang").click()
    assert page.get_by_text("Alice Wang: Done.").is_visible()
    assert_accessible(page)

    assert step(application, "inspection").status == WorkItem.Status.DONE
    assert step(application, "licence").status == WorkItem.Status.OPEN  # the route went on
