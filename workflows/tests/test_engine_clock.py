"""The statutory clock: working days across weekends, holidays, make-up days and stops."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from workflows.engine import clock
from workflows.models import CalendarDay

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# 2027-01-01 is a Friday.
FRIDAY = at(2027, 1, 1, 10)


def test_a_working_day_after_friday_morning_is_monday_morning():
    assert clock.add_working_days(FRIDAY, 1) == at(2027, 1, 4, 10)
    assert clock.add_working_days(FRIDAY, 5) == at(2027, 1, 8, 10)


def test_a_clock_started_on_saturday_starts_on_monday():
    assert clock.add_working_days(at(2027, 1, 2, 10), 1) == at(2027, 1, 5, 0)


def test_a_public_holiday_is_not_counted():
    CalendarDay.objects.create(date=date(2027, 1, 4), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    assert clock.add_working_days(FRIDAY, 1) == at(2027, 1, 5, 10)
    assert clock.working_days_between(FRIDAY, at(2027, 1, 8, 10)) == 4


def test_a_make_up_working_day_on_a_weekend_counts():
    CalendarDay.objects.create(date=date(2027, 1, 2), kind=CalendarDay.Kind.WORKDAY, name="Make-up day")
    assert clock.add_working_days(FRIDAY, 1) == at(2027, 1, 2, 10)
    assert clock.is_working_day(date(2027, 1, 2))
    assert not clock.is_working_day(date(2027, 1, 3))


def test_working_days_between_counts_whole_days_only():
    assert clock.working_days_between(FRIDAY, at(2027, 1, 8, 10)) == 5
    assert clock.working_days_between(FRIDAY, at(2027, 1, 8, 9)) == 4
    assert clock.working_days_between(at(2027, 1, 8, 10), FRIDAY) == 0


def test_a_stopped_clock_moves_the_due_time_by_the_working_time_it_stood_still():
    due = at(2027, 1, 15, 10)  # a Friday
    # Stopped Wednesday noon, resumed the next Monday noon: 12 h + Thu + Fri + 12 h = 3 working days.
    resumed = clock.resume_due_at(due, stopped_at=at(2027, 1, 6, 12), resumed_at=at(2027, 1, 11, 12))
    assert resumed == clock.add_working_days(due, 3) == at(2027, 1, 20, 10)


def test_a_stop_over_a_weekend_and_holiday_only_counts_working_time():
    CalendarDay.objects.create(date=date(2027, 1, 11), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    due = at(2027, 1, 15, 10)
    # Stopped Friday 18:00, resumed Tuesday 06:00: 6 h of Friday + 6 h of Tuesday = half a day.
    resumed = clock.resume_due_at(due, stopped_at=at(2027, 1, 8, 18), resumed_at=at(2027, 1, 12, 6))
    assert resumed == at(2027, 1, 15, 22)


def test_days_left_are_counted_to_where_the_clock_stopped():
    due = at(2027, 1, 8, 10)
    assert clock.working_days_left(due, now=FRIDAY) == 5
    assert clock.working_days_left(due, now=at(2027, 1, 20, 10), stopped_at=at(2027, 1, 6, 10)) == 2
    assert clock.working_days_left(due, now=at(2027, 1, 12, 10)) == -2


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.add_working_days(datetime(2027, 1, 1, 10), 1)
