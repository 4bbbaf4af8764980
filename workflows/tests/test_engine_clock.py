"""The statutory clock: working days across weekends, holidays, make-up days and stops."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows import clock
from workflows.models import CalendarDay, CalendarYear, ClockStop
from workflows.models.calendar import calendar_changed

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# 2027-01-01 is a Friday.
FRIDAY = at(2027, 1, 1, 10)


def end_of(year: int, month: int, day: int) -> datetime:
    """A due time: the end of that local day (midnight starting the next)."""
    return at(year, month, day) + timedelta(days=1)


def test_a_limit_ends_at_the_end_of_the_nth_working_day_after_the_day_it_started():
    assert clock.add_working_days(FRIDAY, 1) == end_of(2027, 1, 4)  # Monday
    assert clock.add_working_days(FRIDAY, 5) == end_of(2027, 1, 8)
    assert clock.due_date(clock.add_working_days(FRIDAY, 5)) == date(2027, 1, 8)


def test_the_hour_of_filing_does_not_move_the_due_date():
    for hour, minute in ((0, 0), (0, 30), (7, 59), (8, 0), (15, 59), (23, 59)):
        assert clock.add_working_days(at(2027, 1, 1, hour, minute), 1) == end_of(2027, 1, 4)


def test_filed_at_2359_on_a_friday_the_first_day_is_monday():
    due = clock.add_working_days(at(2027, 1, 8, 23, 59), 2)
    assert clock.due_date(due) == date(2027, 1, 12)  # Monday, Tuesday


def test_a_clock_started_on_saturday_counts_from_monday():
    assert clock.add_working_days(at(2027, 1, 2, 10), 1) == end_of(2027, 1, 4)


def test_a_due_date_at_midnight_belongs_to_the_day_that_ended():
    assert clock.due_date(at(2027, 1, 7)) == date(2027, 1, 6)
    assert clock.due_date(at(2027, 1, 7, 0, 0) + timedelta(microseconds=1)) == date(2027, 1, 7)


def test_a_public_holiday_is_not_counted():
    CalendarDay.objects.create(date=date(2027, 1, 4), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    assert clock.add_working_days(FRIDAY, 1) == end_of(2027, 1, 5)
    assert clock.working_days_between(FRIDAY, at(2027, 1, 8, 10)) == 4


def test_filed_on_a_holiday_the_clock_starts_after_it():
    CalendarDay.objects.create(date=date(2027, 1, 4), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    CalendarDay.objects.create(date=date(2027, 1, 5), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    assert clock.due_date(clock.add_working_days(at(2027, 1, 4, 9), 1)) == date(2027, 1, 6)


def test_a_make_up_working_day_on_a_weekend_counts():
    CalendarDay.objects.create(date=date(2027, 1, 2), kind=CalendarDay.Kind.WORKDAY, name="Make-up day")
    assert clock.add_working_days(FRIDAY, 1) == end_of(2027, 1, 2)
    assert clock.is_working_day(date(2027, 1, 2))
    assert not clock.is_working_day(date(2027, 1, 3))


def test_a_stopped_period_stops_every_clock():
    ClockStop.objects.create(starts_on=date(2027, 1, 4), ends_on=date(2027, 1, 6), reason="Typhoon")
    assert clock.due_date(clock.add_working_days(FRIDAY, 1)) == date(2027, 1, 7)
    assert not clock.is_working_day(date(2027, 1, 5))


def test_working_days_between_counts_whole_days_only():
    assert clock.working_days_between(FRIDAY, at(2027, 1, 8, 10)) == 5
    assert clock.working_days_between(FRIDAY, at(2027, 1, 8, 9)) == 4
    assert clock.working_days_between(at(2027, 1, 8, 10), FRIDAY) == 0


def test_a_stopped_clock_gives_back_the_working_days_after_the_day_it_stopped():
    due = end_of(2027, 1, 15)  # a Friday
    # Stopped Wednesday noon, answered the next Monday noon: Thursday, Friday and Monday.
    resumed = clock.resume_due_at(due, stopped_at=at(2027, 1, 6, 12), resumed_at=at(2027, 1, 11, 12))
    assert resumed == end_of(2027, 1, 20)


def test_a_correction_over_a_weekend_gives_back_one_day():
    due = end_of(2027, 1, 15)
    # Asked Friday 16:00, answered Monday 09:00: the department lost Monday.
    resumed = clock.resume_due_at(due, stopped_at=at(2027, 1, 8, 16), resumed_at=at(2027, 1, 11, 9))
    assert clock.due_date(resumed) == date(2027, 1, 18)


def test_a_correction_answered_the_same_day_gives_back_nothing():
    due = end_of(2027, 1, 15)
    assert clock.resume_due_at(due, stopped_at=at(2027, 1, 8, 9), resumed_at=at(2027, 1, 8, 17)) == due


def test_a_stop_over_a_weekend_and_a_holiday_counts_only_working_days():
    CalendarDay.objects.create(date=date(2027, 1, 11), kind=CalendarDay.Kind.HOLIDAY, name="Test holiday")
    due = end_of(2027, 1, 15)
    # Stopped Friday 18:00, answered Tuesday 06:00: only Tuesday was a working day lost.
    resumed = clock.resume_due_at(due, stopped_at=at(2027, 1, 8, 18), resumed_at=at(2027, 1, 12, 6))
    assert clock.due_date(resumed) == date(2027, 1, 18)


def test_days_left_count_today_and_the_due_date():
    due = end_of(2027, 1, 8)  # Friday
    assert clock.working_days_left(due, now=FRIDAY) == 6  # Fri 1, Mon–Fri 8
    assert clock.working_days_left(due, now=at(2027, 1, 8, 23, 59)) == 1  # due today
    assert clock.working_days_left(due, now=at(2027, 1, 2, 12)) == 5  # a Saturday
    assert clock.working_days_left(due, now=at(2027, 1, 20, 10), stopped_at=at(2027, 1, 6, 10)) == 3


def test_overdue_the_moment_the_due_date_ends_even_on_a_weekend():
    due = end_of(2027, 1, 8)
    assert clock.working_days_left(due, now=at(2027, 1, 9, 0, 1)) == -1  # Saturday 00:01
    assert clock.is_overdue(due, now=at(2027, 1, 9, 0, 1))
    assert not clock.is_overdue(due, now=at(2027, 1, 8, 23, 59))
    assert clock.working_days_left(due, now=at(2027, 1, 12, 10)) == -2  # Monday, Tuesday
    assert not clock.is_overdue(due, now=at(2027, 1, 12, 10), stopped_at=at(2027, 1, 7, 10))


def test_a_deadline_in_a_year_without_a_calendar_is_refused():
    CalendarYear.objects.filter(year__gte=2028).delete()
    with pytest.raises(clock.CalendarMissing) as refused:
        clock.add_working_days(at(2027, 12, 20, 10), 20)
    assert refused.value.year == 2028
    assert "2028" in str(refused.value)
    # Within the calendar it is computed; the refusal is not a weekend-only guess.
    assert clock.due_date(clock.add_working_days(at(2027, 12, 20, 10), 5)) == date(2027, 12, 27)


def test_a_resumed_clock_in_a_year_without_a_calendar_is_refused():
    CalendarYear.objects.filter(year__gte=2028).delete()
    with pytest.raises(clock.CalendarMissing):
        clock.resume_due_at(end_of(2027, 12, 30), stopped_at=at(2027, 12, 1, 9), resumed_at=at(2027, 12, 20, 9))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.add_working_days(datetime(2027, 1, 1, 10), 1)  # noqa: DTZ001 - the naive value is the point


def walked_working_seconds(start: datetime, end: datetime, exceptions: dict[date, str]) -> float:
    """The obvious reference: walk every day of the span."""
    total = 0.0
    day, last = timezone.localdate(start), timezone.localdate(end)
    while day <= last:
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
    first = timezone.localdate(origin)
    exceptions = {first + timedelta(days=d): CalendarDay.Kind.HOLIDAY for d in holidays}
    exceptions |= {first + timedelta(days=d): CalendarDay.Kind.WORKDAY for d in workdays - holidays}
    CalendarDay.objects.all().delete()
    CalendarDay.objects.bulk_create(CalendarDay(date=day, kind=kind) for day, kind in exceptions.items())
    calendar_changed()  # bulk writes send no signals: they say so themselves
    start = origin + timedelta(minutes=start_minutes)
    end = start + timedelta(minutes=length_minutes)
    assert clock.working_seconds_between(start, end) == walked_working_seconds(start, end, exceptions)


def walked_working_days(calendar: clock.Calendar, first: date, last: date) -> int:
    """The reference the counted `working_days_in` must agree with: ask every day of the span."""
    count, day = 0, first
    while day <= last:
        count += calendar.is_working_day(day)
        day += timedelta(days=1)
    return count


def walked_days_left(calendar: clock.Calendar, due_at: datetime, reference: datetime) -> int:
    """The reference for `working_days_left`: walk from today to the due date (or back)."""
    today, last = timezone.localdate(reference), clock.due_date(due_at)
    if reference <= due_at:
        return max(1, walked_working_days(calendar, today, last))
    return -max(1, walked_working_days(calendar, last + timedelta(days=1), today))


# Four years of calendar (2025–2028) with random holidays, make-up working days and stopped
# periods, and ranges crossing year ends; 2029 has no calendar.
CALENDAR_START = date(2025, 1, 1)
CALENDAR_DAYS = (date(2029, 1, 1) - CALENDAR_START).days
a_day = st.integers(0, CALENDAR_DAYS - 1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    holidays=st.sets(a_day, max_size=40),
    workdays=st.sets(a_day, max_size=15),
    stops=st.lists(st.tuples(a_day, st.integers(0, 40)), max_size=6),
    spans=st.lists(st.tuples(st.integers(-20, CALENDAR_DAYS + 20), st.integers(-3, 800)), min_size=1, max_size=8),
    moments=st.lists(
        st.tuples(st.integers(0, CALENDAR_DAYS * 24 * 60), st.integers(-200 * 24 * 60, 200 * 24 * 60)),
        min_size=1,
        max_size=8,
    ),
)
def test_counting_working_days_agrees_with_asking_every_day(holidays, workdays, stops, spans, moments):
    def day(offset: int) -> date:
        return CALENDAR_START + timedelta(days=offset)

    CalendarDay.objects.all().delete()
    ClockStop.objects.all().delete()
    CalendarYear.objects.all().delete()
    kinds = dict.fromkeys(holidays, CalendarDay.Kind.HOLIDAY) | dict.fromkeys(
        workdays - holidays, CalendarDay.Kind.WORKDAY
    )
    CalendarDay.objects.bulk_create(CalendarDay(date=day(d), kind=kind) for d, kind in kinds.items())
    ClockStop.objects.bulk_create(
        ClockStop(starts_on=day(start), ends_on=day(start + length), reason="outage") for start, length in stops
    )
    CalendarYear.objects.bulk_create(CalendarYear(year=year) for year in range(2025, 2029))
    calendar_changed()  # bulk writes send no signals: they say so themselves

    lenient, strict = clock.Calendar(), clock.Calendar(strict=True)
    for start, length in spans:
        first, last = day(start), day(start + length)
        assert lenient.working_days_in(first, last) == walked_working_days(lenient, first, last)
        try:
            expected = walked_working_days(strict, first, last)
        except clock.CalendarMissing as missing:
            # A span reaching a year without a calendar is refused, naming that year.
            with pytest.raises(clock.CalendarMissing) as refused:
                strict.working_days_in(first, last)
            assert refused.value.year == missing.year
        else:
            assert strict.working_days_in(first, last) == expected

    origin = datetime.combine(CALENDAR_START, datetime.min.time(), tzinfo=SHANGHAI)
    for at_minutes, due_in_minutes in moments:
        now = origin + timedelta(minutes=at_minutes)
        due_at = now + timedelta(minutes=due_in_minutes)
        left = clock.working_days_left(due_at, now=now, calendar=lenient)
        assert left == walked_days_left(lenient, due_at, now)
