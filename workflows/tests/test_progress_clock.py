"""The clock the applicant sees on each department step: working days across weekends and
public holidays, "stopped — waiting for you" during a correction, overdue, finished on time."""

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from workflows.models import CalendarDay, WorkItem
from workflows.progress.selectors import StepState, application_steps
from workflows.tests.progress_support import TWO_DEPARTMENTS, item, submit

# Date-sensitive: every test runs at each instant of `frozen_now` (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.get_current_timezone())


def end_of(year: int, month: int, day: int) -> datetime:
    """A statutory due time: the end of that working day."""
    return at(year, month, day, 0) + timedelta(days=1)


@pytest.fixture
def application(alice, django_capture_on_commit_callbacks):
    return submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)


def licence_clock(application, now):
    return next(step for step in application_steps(application, now=now) if step.key == "licence")


def test_working_days_left_skip_the_weekend(application):
    # Friday 4 December 2026, 10:00; due by the end of Tuesday 8 December: Friday, Monday, Tuesday.
    WorkItem.objects.filter(pk=item(application, "licence").pk).update(statutory_due_at=end_of(2026, 12, 8))
    step = licence_clock(application, at(2026, 12, 4))
    assert step.days_left == 3
    assert not step.stopped and not step.overdue
    assert step.state == StepState.QUEUED


def test_a_public_holiday_is_not_a_working_day(application):
    CalendarDay.objects.create(date=date(2026, 12, 7), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    WorkItem.objects.filter(pk=item(application, "licence").pk).update(statutory_due_at=end_of(2026, 12, 8))
    assert licence_clock(application, at(2026, 12, 4)).days_left == 2
    # A make-up working day on a Saturday counts.
    CalendarDay.objects.create(date=date(2026, 12, 5), kind=CalendarDay.Kind.WORKDAY, name="Make-up day")
    assert licence_clock(application, at(2026, 12, 4)).days_left == 3


def test_a_stopped_clock_counts_to_the_moment_it_stopped(client, alice, application):
    # Stopped on Wednesday 2 December 10:00 with the step due by the end of Friday 4 December.
    WorkItem.objects.filter(pk=item(application, "licence").pk).update(
        statutory_due_at=end_of(2026, 12, 4), clock_stopped_at=at(2026, 12, 2), status=WorkItem.Status.WAITING
    )
    # A week later the applicant still has not answered: still Wednesday to Friday, never "overdue".
    step = licence_clock(application, at(2026, 12, 9))
    assert step.state == StepState.WAITING_FOR_YOU
    assert step.stopped and step.days_left == 3 and not step.overdue
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "Clock stopped — waiting for you" in page
    assert "3 working days will be left when you reply" in page


def test_overdue_counts_working_days_past_the_due_time(application):
    # Due by the end of Thursday 3 December; now Tuesday 8 December: Fri, Mon, Tue = 3 working days late.
    WorkItem.objects.filter(pk=item(application, "licence").pk).update(statutory_due_at=end_of(2026, 12, 3))
    step = licence_clock(application, at(2026, 12, 8))
    assert step.overdue and step.days_overdue == 3


def test_the_page_shows_due_date_and_days_left(client, alice, application):
    WorkItem.objects.filter(pk=item(application, "licence").pk).update(statutory_due_at=end_of(2099, 12, 8))
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[application.number])).content.decode()
    assert "Due <time" in page and "8 Dec 2099" in page
    assert "working days left" in page
    # The fire step has not started: no clock yet.
    assert "Not started yet" in page


def test_a_finished_step_says_whether_it_was_on_time(application):
    WorkItem.objects.filter(pk=item(application, "licence").pk).update(
        status=WorkItem.Status.DONE,
        decision=WorkItem.Decision.APPROVED,
        statutory_due_at=at(2026, 12, 8),
        finished_at=at(2026, 12, 9),
    )
    step = licence_clock(application, at(2026, 12, 10))
    assert step.state == StepState.DONE
    assert step.days_left is None and step.finished_on_time is False
