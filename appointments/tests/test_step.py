"""An appointment step: the applicant books from the progress page, the clerk marks the visit
done, and the route moves on; a visit not kept leaves the step waiting for a new booking."""

import pytest
from django.urls import reverse

from appointments.actions import appointment_book, appointment_mark_done, appointment_mark_no_show
from appointments.models import Appointment
from appointments.slots import BookingRefused
from appointments.tests.conftest import local
from workflows.engine.errors import TransitionRefused
from workflows.models import Application, ApplicationEvent, WorkItem
from workflows.tests.progress_support import item

pytestmark = pytest.mark.django_db


def test_the_step_waits_and_the_progress_page_asks_the_applicant_to_book(client, alice, inspection):
    assert inspection.kind == WorkItem.Kind.APPOINTMENT and inspection.status == WorkItem.Status.OPEN
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[inspection.application.number]))
    assert "Waiting for you to book an appointment." in page.text
    assert reverse("appointments:step-book", args=[inspection.pk]) in page.text


def test_the_booking_page_lists_free_days_as_radios_grouped_by_day(client, alice, inspection):
    client.force_login(alice)
    page = client.get(reverse("appointments:step-book", args=[inspection.pk]))
    assert page.status_code == 200
    # Monday to Friday, five days a page; the weekend is skipped; the next page starts Monday 14th.
    assert page.text.count('<fieldset class="govuk-fieldset"') == 5
    assert "Monday 7 December 2026" in page.text and "Saturday 12 December" not in page.text
    assert 'value="2026-12-07T09:00"' in page.text and 'value="2026-12-07T12:00"' not in page.text
    assert "from=2026-12-14" in page.text
    later = client.get(reverse("appointments:step-book", args=[inspection.pk]), {"from": "2026-12-14"})
    assert "Monday 14 December 2026" in later.text and "Monday 7 December" not in later.text


def test_a_refused_booking_keeps_the_choice_and_the_page_of_days(client, alice, bob, inspection, offering):
    carol = type(alice).objects.create_user(username="carol", password="x")
    appointment_book(person=bob, offering=offering, starts_at=local(14, 9))
    appointment_book(person=carol, offering=offering, starts_at=local(14, 9))
    client.force_login(alice)
    page = client.post(
        reverse("appointments:step-book", args=[inspection.pk]),
        {"time": "2026-12-14T09:00", "from": "2026-12-14", "place": "market-hall"},
    )
    assert page.status_code == 400
    assert "fully booked" in page.text and "There is a problem" in page.text
    assert "Monday 14 December 2026" in page.text  # the same page of days
    past = client.post(reverse("appointments:step-book", args=[inspection.pk]), {"time": "2026-12-04T09:00"})
    assert past.status_code == 400 and "already passed" in past.text
    nonsense = client.post(reverse("appointments:step-book", args=[inspection.pk]), {"time": "soon"})
    assert nonsense.status_code == 400 and "Choose a time from the list." in nonsense.text


def test_a_second_booking_for_the_step_is_refused_with_a_clear_message(client, alice, inspection, offering):
    appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    client.force_login(alice)
    page = client.post(reverse("appointments:step-book", args=[inspection.pk]), {"time": "2026-12-08T09:00"})
    assert page.status_code == 400 and "already have an appointment for this on 2026-12-07 at 09:00" in page.text
    # Opening the booking page again leads to the booked appointment instead.
    assert "/appointments/manage/" in client.get(reverse("appointments:step-book", args=[inspection.pk])).url


def test_booking_from_the_page_then_the_progress_page_shows_the_appointment(client, alice, inspection):
    client.force_login(alice)
    response = client.post(reverse("appointments:step-book", args=[inspection.pk]), {"time": "2026-12-08T14:30"})
    assert response.status_code == 302 and "/appointments/manage/" in response.url
    page = client.get(reverse("workflows:progress-application", args=[inspection.application.number]))
    assert "Your appointment: 2026-12-08 at 14:30, Market Regulation hall, counter 3." in page.text


def test_marking_the_visit_done_finishes_the_step_and_the_route_moves_on(
    alice, clerk_a, inspection, offering, django_capture_on_commit_callbacks
):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_mark_done(appointment_id=appointment.pk, clerk=clerk_a)
    inspection.refresh_from_db()
    assert inspection.status == WorkItem.Status.DONE
    event = ApplicationEvent.objects.get(work_item=inspection, kind=ApplicationEvent.Kind.STEP_COMPLETED)
    assert event.actor == clerk_a and event.payload == {"appointment": appointment.pk}
    licence = item(inspection.application, "licence")
    assert licence.status == WorkItem.Status.OPEN  # the route continued
    with pytest.raises(BookingRefused):
        appointment_mark_done(appointment_id=appointment.pk, clerk=clerk_a)


def test_a_clerk_of_another_department_cannot_mark_it(alice, clerk_b, inspection, offering):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    with pytest.raises(Appointment.DoesNotExist):
        appointment_mark_done(appointment_id=appointment.pk, clerk=clerk_b)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_a_visit_not_kept_leaves_the_step_open_to_book_again(alice, clerk_a, inspection, offering, monday):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    with pytest.raises(BookingRefused, match="not begun"):
        appointment_mark_no_show(appointment_id=appointment.pk, clerk=clerk_a)
    monday.move_to(local(7, 9, 45))
    appointment_mark_no_show(appointment_id=appointment.pk, clerk=clerk_a)
    inspection.refresh_from_db()
    assert inspection.status == WorkItem.Status.OPEN
    again = appointment_book(person=alice, offering=offering, starts_at=local(8, 9), work_item=inspection)
    assert again.status == Appointment.Status.BOOKED


def test_a_finished_application_refuses_the_step_completion(alice, clerk_a, inspection, offering):
    appointment = appointment_book(person=alice, offering=offering, starts_at=local(7, 9), work_item=inspection)
    Application.objects.filter(pk=inspection.application_id).update(status=Application.Status.WITHDRAWN)
    with pytest.raises(TransitionRefused):
        appointment_mark_done(appointment_id=appointment.pk, clerk=clerk_a)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED  # nothing changed
