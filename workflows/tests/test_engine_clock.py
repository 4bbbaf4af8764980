"""The statutory clock: working days across weekends, holidays, make-up days and stops."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def walked_working_seconds(start: datetime, end: datetime, exceptions: dict[date, str]) -> float:
    """The obvious reference: walk every day of the span."""
    total = 0.0
    day = start.date()
    while day <= end.date():
        kind = exceptions.get(day)
        working = kind == CalendarDay.Kind.WORKDAY or (kind != CalendarDay.Kind.HOLIDAY and day.weekday() < 5)
        if working:
            day_start = max(start, datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI))
            day_end = min(end, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI))
            if day_end > day_start:
                total += (day_end - day_start).total_seconds()
        day += timedelta(days=1)
    return total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start_minutes=st.integers(0, 60 * 24 * 90),
    length_minutes=st.integers(0, 60 * 24 * 200),
    holidays=st.sets(st.integers(0, 300), max_size=12),
    workdays=st.sets(st.integers(0, 300), max_size=6),
)
def test_counting_whole_days_agrees_with_walking_every_day(start_minutes, length_minutes, holidays, workdays):
    origin = at(2027, 1, 1)
    exceptions = {(origin + timedelta(days=d)).date(): CalendarDay.Kind.HOLIDAY for d in holidays}
    exceptions |= {(origin + timedelta(days=d)).date(): CalendarDay.Kind.WORKDAY for d in workdays - holidays}
    CalendarDay.objects.all().delete()
    CalendarDay.objects.bulk_create(CalendarDay(date=day, kind=kind) for day, kind in exceptions.items())
    start = origin + timedelta(minutes=start_minutes)
    end = start + timedelta(minutes=length_minutes)
    assert clock.working_seconds_between(start, end) == walked_working_seconds(start, end, exceptions)
