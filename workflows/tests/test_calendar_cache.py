"""The working-day calendar lives in each process's memory: a deadline costs no query, and a
change an administrator makes is seen at once here and, once committed, by every process that
shares the cache."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from workflows import clock
from workflows.models import CalendarDay, ClockStop
from workflows.models.calendar import CALENDAR_VERSION_KEY, calendar_version

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def test_deadlines_cost_no_query_once_the_calendar_is_read():
    clock.add_working_days(MONDAY, 5)  # reads it
    with CaptureQueriesContext(connection) as queries:
        for days in range(1, 40):
            clock.add_working_days(MONDAY, days)
        clock.working_days_between(MONDAY, MONDAY + datetime.timedelta(days=90))
        clock.coverage()
    assert len(queries) == 0


def test_a_holiday_entered_is_counted_at_once():
    before = clock.add_working_days(MONDAY, 1)
    assert clock.due_date(before) == datetime.date(2026, 3, 3)
    CalendarDay.objects.create(date=datetime.date(2026, 3, 3), kind=CalendarDay.Kind.HOLIDAY, name="local")
    assert clock.due_date(clock.add_working_days(MONDAY, 1)) == datetime.date(2026, 3, 4)
    CalendarDay.objects.filter(date=datetime.date(2026, 3, 3)).delete()
    assert clock.due_date(clock.add_working_days(MONDAY, 1)) == datetime.date(2026, 3, 3)


def test_overlapping_stopped_periods_count_each_day_once():
    ClockStop.objects.create(starts_on=datetime.date(2026, 3, 3), ends_on=datetime.date(2026, 3, 5), reason="a")
    ClockStop.objects.create(starts_on=datetime.date(2026, 3, 5), ends_on=datetime.date(2026, 3, 6), reason="b")
    calendar = clock.Calendar()
    # Monday 2 to Monday 9 March: Monday 2 and Monday 9 work, Tuesday to Friday stopped.
    assert calendar.working_days_in(datetime.date(2026, 3, 2), datetime.date(2026, 3, 9)) == 2
    assert not calendar.is_working_day(datetime.date(2026, 3, 5))
    assert calendar.is_working_day(datetime.date(2026, 3, 9))


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_moves_the_shared_version_so_other_processes_read_again():
    clock.calendar_snapshot()
    shared = cache.get(CALENDAR_VERSION_KEY)
    CalendarDay.objects.create(date=datetime.date(2026, 3, 3), kind=CalendarDay.Kind.HOLIDAY, name="local")
    # Committed: the version every process checks has moved, so their copies are read again.
    assert cache.get(CALENDAR_VERSION_KEY) != shared
    assert clock.calendar_snapshot().version == calendar_version()
