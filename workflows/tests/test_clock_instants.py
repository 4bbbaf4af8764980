"""One application's whole statutory clock, run at every instant of `frozen_now` (00:30, 07:59,
08:00, 15:59 and 23:59 local, a Friday evening, the eve of National Day, a make-up Saturday) on
the real holiday calendar: the applicant, the API and the clerk agree with an independent
reference (tests/support/calendar.py) at each of them."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.support.calendar import expected_due_date, is_working_day
from workflows import clock
from workflows.engine.actions import correction_submit
from workflows.tests.progress_support import TWO_DEPARTMENTS, ask_correction, item, submit

pytestmark = pytest.mark.django_db


def end_of(day: date) -> datetime:
    return clock.end_of_day(day)


def working_days(first: date, last: date) -> int:
    """Working days in [first, last] by the reference calendar."""
    return sum(1 for n in range((last - first).days + 1) if is_working_day(first + timedelta(days=n)))


def api_application(client, number: str) -> dict:
    response = client.get(f"/api/my/applications/{number}/")
    assert response.status_code == 200
    return response.json()


def licence(body: dict) -> dict:
    return next(step for step in body["steps"] if step["key"] == "licence")


def test_one_applications_clock_at_every_hour(frozen_now, client, alice, clerk_a, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    today = timezone.localdate()
    application = submit(capture, applicant=alice, route=TWO_DEPARTMENTS, time_limit_days=20)

    # Submitted: the application's limit (20) and the licence step's (5) end on the reference's day.
    assert application.statutory_due_at == end_of(expected_due_date(today, 20))
    step_due = end_of(expected_due_date(today, 5))
    assert item(application, "licence").statutory_due_at == step_due

    # The applicant's API says the same, in ISO 8601 with the local offset, and counts today.
    client.force_login(alice)
    body = api_application(client, application.number)
    assert body["statutory_due_at"].endswith("+08:00")
    assert datetime.fromisoformat(body["statutory_due_at"]) == application.statutory_due_at
    step = licence(body)
    assert datetime.fromisoformat(step["due_at"]) == step_due
    assert step["working_days_left"] == working_days(today, clock.due_date(step_due))
    assert step["overdue"] is False

    # A correction now; answered three days later. The step gets back the working days after the
    # day it stopped, up to the day of the answer.
    ask_correction(capture, application, "licence", clerk_a)
    answered = frozen_now + timedelta(days=3)
    with time_machine.travel(answered, tick=False):
        correction_submit(
            application_id=application.pk, applicant=alice, data={"business.name": "Noodle House Ltd"}, documents={}
        )
        lost = working_days(today + timedelta(days=1), timezone.localdate())
    resumed_due = item(application, "licence").statutory_due_at
    assert resumed_due == end_of(expected_due_date(clock.due_date(step_due), lost)) if lost else step_due

    # The last minute of the due date: still on time for everyone.
    # (Days pass: sessions end by their absolute limit, so each look signs in again.)
    with time_machine.travel(resumed_due - timedelta(minutes=1), tick=False):
        client.force_login(alice)
        step = licence(api_application(client, application.number))
        assert step["overdue"] is False and step["working_days_left"] == 1
    # One minute after it ended: overdue for the applicant and on the clerk's overdue tab at once.
    with time_machine.travel(resumed_due + timedelta(minutes=1), tick=False):
        client.force_login(alice)
        step = licence(api_application(client, application.number))
        assert step["overdue"] is True and step["working_days_left"] == -1
        client.force_login(clerk_a)
        queue = client.get("/api/workbench/items/", {"tab": "overdue"}).json()
        assert [row["application_number"] for row in queue["results"]] == [application.number]
