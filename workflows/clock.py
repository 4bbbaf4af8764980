"""The statutory clock: working days from the working-day calendar (DESIGN §5.6, docs/deadlines.md).

A working day is Monday to Friday, minus public holidays and stopped periods, plus make-up
working days (`workflows.models.calendar`). Every day is a local day of settings.TIME_ZONE.

Deadlines: a limit of N working days started at any moment ends at the **end of the Nth
working day after the day it started** (the starting day never counts, as in Chinese
administrative law). So whatever the hour of filing, the due time is a local midnight, and the
last day on which a decision is on time is `due_date(due_at)`. A deadline that reaches a year
the calendar is not complete for is refused (`CalendarMissing`), never guessed.

While the applicant owes a correction the clock is stopped; when they answer, the due date
moves later by the working days the department lost: those after the day it stopped, up to
and including the day it resumed (`resume_due_at`).

Warning timers and "how long did this take" use working *seconds* (`working_seconds_between`,
`add_working_seconds`): time on a working day counts, time on a rest day does not.

All functions take and return aware datetimes.
"""

import bisect
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, CharField, DateField, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from lib.refusals import Refused
from workflows.models import CalendarDay, CalendarYear, ClockStop
from workflows.models.calendar import calendar_local_changes, calendar_version

DAY = timedelta(days=1)
DAY_SECONDS = 86400
STOPPED = "stopped"
COMPLETE = "complete"
PROVISIONAL = "provisional"


class CalendarMissing(Refused):
    """A deadline reaches a year whose holidays are not in the calendar: refused, nothing changed."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            _(
                "The working-day calendar for %(year)s has not been published yet, so the statutory "
                "deadline cannot be worked out. Nothing was lost; please try again later."
            )
            % {"year": year}
        )


@dataclass(frozen=True)
class Coverage:
    """The span of years the calendar is complete for, without gaps, from the earliest."""

    first: int | None
    last: int | None
    provisional: tuple[int, ...] = ()

    def covers(self, year: int) -> bool:
        return self.first is not None and self.last is not None and self.first <= year <= self.last


@dataclass(frozen=True)
class _Snapshot:
    """The whole working-day calendar as this process last read it (a few hundred rows)."""

    days: dict[date, str]  # holidays and make-up working days
    day_list: tuple[date, ...]  # the same days, sorted, to find a span's days by bisection
    stops: tuple[tuple[date, date], ...]  # stopped periods, merged into disjoint spans, sorted
    years: frozenset[int]  # years the calendar is complete for
    provisional: frozenset[int]  # of those, the ones entered before the official announcement
    version: tuple[object, int]  # calendar_version() when it was read
    loaded_at: float


# The calendar is cached per process and read again when it changes (`calendar_version`: a
# version in the shared cache, Redis when configured, bumped on commit by `calendar_changed`, plus
# this process's own count of changes) or, as a safety net for processes that share no cache,
# after CALENDAR_MAX_AGE seconds.
CALENDAR_MAX_AGE = 60.0
# The shared version is asked at most this often: a transition computes several deadlines, and
# each would otherwise cost a round trip to the cache. Changes made in this process are seen at
# once (their count is checked every time); other processes see them within this time.
CALENDAR_VERSION_CHECK = 1.0
_snapshot: _Snapshot | None = None
_version_checked_at = 0.0


def _read_snapshot(version: tuple[object, int]) -> _Snapshot:
    no_date, no_year = Value(None, output_field=DateField()), Value(0, output_field=IntegerField())
    # One round trip for the three tables: exceptions, stopped periods, years.
    days = CalendarDay.objects.order_by().values_list("date", F("date"), "kind", no_year)
    stops = ClockStop.objects.order_by().values_list("starts_on", "ends_on", Value(STOPPED), no_year)
    provisional = Case(
        When(provisional=True, then=Value(PROVISIONAL)), default=Value(COMPLETE), output_field=CharField()
    )
    years = CalendarYear.objects.order_by().values_list(no_date, no_date, provisional, "year")
    exceptions: dict[date, str] = {}
    stopped: list[tuple[date, date]] = []
    complete: dict[int, bool] = {}
    for start, end, kind, year in days.union(stops, years, all=True):
        if year:
            complete[year] = kind == PROVISIONAL
        elif kind == STOPPED:
            stopped.append((start, end))
        else:
            exceptions[start] = kind
    merged: list[tuple[date, date]] = []
    for start, end in sorted(stopped):
        if merged and start <= merged[-1][1] + DAY:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return _Snapshot(
        days=exceptions,
        day_list=tuple(sorted(exceptions)),
        stops=tuple(merged),
        years=frozenset(complete),
        provisional=frozenset(year for year, is_provisional in complete.items() if is_provisional),
        version=version,
        loaded_at=time_module.monotonic(),
    )


def calendar_snapshot() -> _Snapshot:
    """The calendar, from this process's memory while it is current (no query). A change made in
    this process is seen at once; the version other processes share is checked at most every
    CALENDAR_VERSION_CHECK seconds (one cache round trip)."""
    global _snapshot, _version_checked_at
    snapshot = _snapshot
    now = time_module.monotonic()
    if (
        snapshot is not None
        and snapshot.version[1] == calendar_local_changes()
        and now - _version_checked_at < CALENDAR_VERSION_CHECK
    ):
        return snapshot
    version = calendar_version()
    _version_checked_at = now
    if snapshot is None or snapshot.version != version or now - snapshot.loaded_at > CALENDAR_MAX_AGE:
        snapshot = _snapshot = _read_snapshot(version)
    return snapshot


def calendar_forget() -> None:
    """Drops this process's copy (tests, whose rolled-back rows no commit ever announces)."""
    global _snapshot
    _snapshot = None


class Calendar:
    """The working-day calendar, from the process's snapshot (`calendar_snapshot`).

    `strict` calendars (deadline computations) refuse a day of a year that is not complete;
    others (counting days left on a page) count such a day as its weekday says. The span
    arguments are kept for callers that say which days they will ask about; every day is known.
    """

    def __init__(self, first: date | None = None, last: date | None = None, *, strict: bool = False) -> None:
        self.strict = strict
        snapshot = calendar_snapshot()
        self._days = snapshot.days
        self._day_list = snapshot.day_list
        self._stops = snapshot.stops
        self._years = snapshot.years

    def _check(self, day: date) -> None:
        if self.strict and day.year not in self._years:
            raise CalendarMissing(day.year)

    def _stopped(self, day: date) -> bool:
        index = bisect.bisect_right(self._stops, (day, date.max)) - 1
        return index >= 0 and self._stops[index][0] <= day <= self._stops[index][1]

    def _working_unless_stopped(self, day: date) -> bool:
        kind = self._days.get(day)
        if kind == CalendarDay.Kind.HOLIDAY:
            return False
        if kind == CalendarDay.Kind.WORKDAY:
            return True
        return day.weekday() < 5

    def _working_days_unstopped(self, first: date, last: date) -> int:
        """Working days in [first, last] as if nothing were stopped: weekdays counted by arithmetic
        (whole weeks, then the few days left), then the calendar's exceptions in the span, found by
        bisection. O(log n + exceptions in the span)."""
        weeks, rest = divmod((last - first).days + 1, 7)
        # The `rest` days left after the whole weeks run from first's weekday on.
        start = first.weekday()
        count = weeks * 5 + sum(1 for offset in range(rest) if (start + offset) % 7 < 5)
        low, high = bisect.bisect_left(self._day_list, first), bisect.bisect_right(self._day_list, last)
        for day in self._day_list[low:high]:
            weekday = day.weekday() < 5
            kind = self._days[day]
            if kind == CalendarDay.Kind.HOLIDAY and weekday:
                count -= 1
            elif kind == CalendarDay.Kind.WORKDAY and not weekday:
                count += 1
        return count

    def working_days_in(self, first: date, last: date) -> int:
        """How many working days [first, last] holds: counted, never walked — a span of years costs
        no more than a week (`_working_days_unstopped`), less the working days of the stopped
        periods it overlaps (disjoint, sorted: found by bisection, each counted the same way)."""
        if last < first:
            return 0
        if self.strict:
            for year in range(first.year, last.year + 1):
                self._check(date(year, 1, 1))
        count = self._working_days_unstopped(first, last)
        # The first stop that may overlap: the last one starting on or before `first`.
        index = max(0, bisect.bisect_right(self._stops, (first, date.max)) - 1)
        for start, end in self._stops[index:]:
            if start > last:
                break
            if end >= first:
                count -= self._working_days_unstopped(max(start, first), min(end, last))
        return count

    def is_working_day(self, day: date) -> bool:
        self._check(day)
        return not self._stopped(day) and self._working_unless_stopped(day)

    def next_working_days(self, after: date, count: int) -> date:
        """The `count`-th working day after the day `after` (which itself never counts)."""
        day = after
        while count > 0:
            day += DAY
            if self.is_working_day(day):
                count -= 1
        return day


def _local(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("the statutory clock needs aware datetimes")
    return timezone.localtime(moment)


def start_of_day(day: date) -> datetime:
    """Local midnight at the start of `day`, aware."""
    return timezone.make_aware(datetime.combine(day, time.min))


def end_of_day(day: date) -> datetime:
    """The moment `day` ends: local midnight at the start of the next day."""
    return start_of_day(day + DAY)


def due_date(due_at: datetime) -> date:
    """The last local day on which something due at `due_at` is on time.

    A due time at local midnight belongs to the day that just ended, so a limit ending on
    Wednesday night reads "due by Wednesday", never Thursday.
    """
    return timezone.localtime(due_at - timedelta(microseconds=1)).date()


def coverage() -> Coverage:
    """The years the calendar is complete for, as one run ending at the first gap after today."""
    snapshot = calendar_snapshot()
    years = snapshot.years
    this_year = timezone.localdate().year
    if this_year not in years:
        return Coverage(first=min(years) if years else None, last=None)
    first = last = this_year
    while first - 1 in years:
        first -= 1
    while last + 1 in years:
        last += 1
    return Coverage(
        first=first,
        last=last,
        provisional=tuple(sorted(y for y in snapshot.provisional if y >= this_year)),
    )


def is_working_day(day: date) -> bool:
    return Calendar(day, day).is_working_day(day)


def working_seconds_between(start: datetime, end: datetime, *, calendar: Calendar | None = None) -> float:
    """Working time between two moments, in seconds (0 when end is not after start).

    Pass a `calendar` loaded once to count many spans (a queue page) without a query each.
    """
    start, end = _local(start), _local(end)
    if end <= start:
        return 0.0
    first, last = timezone.localdate(start), timezone.localdate(end)
    calendar = calendar or Calendar(first, last)
    if first == last:
        return (end - start).total_seconds() if calendar.is_working_day(first) else 0.0
    total = 0.0
    if calendar.is_working_day(first):
        total += (start_of_day(first + DAY) - start).total_seconds()
    if calendar.is_working_day(last):
        total += (end - start_of_day(last)).total_seconds()
    # The whole days between: counted, not walked (a due date months away costs the same).
    return total + calendar.working_days_in(first + DAY, last - DAY) * DAY_SECONDS


def working_days_between(start: datetime, end: datetime, *, calendar: Calendar | None = None) -> int:
    """Whole working days between two moments (0 when end is not after start)."""
    return int(working_seconds_between(start, end, calendar=calendar) // DAY_SECONDS)


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The moment when `seconds` of working time have passed since `start` (for warnings)."""
    cursor = _local(start)
    remaining = float(seconds)
    if remaining <= 0:
        return cursor
    calendar = Calendar(timezone.localdate(cursor), timezone.localdate(cursor) + timedelta(days=366))
    while True:
        day = timezone.localdate(cursor)
        next_midnight = start_of_day(day + DAY)
        if calendar.is_working_day(day):
            available = (next_midnight - cursor).total_seconds()
            if remaining <= available:
                return cursor + timedelta(seconds=remaining)
            remaining -= available
        cursor = next_midnight


def add_working_days(start: datetime, days: int, *, strict: bool = True) -> datetime:
    """The end of the `days`-th working day after the day of `start` (a statutory deadline).

    Filed Friday 10:00 or 23:59 with 1 working day → due at the end of Monday. Refuses with
    `CalendarMissing` when a day it has to count falls in a year the calendar is not complete
    for; `strict=False` is for horizons of lists and reminders, which may count by weekday.
    """
    today = timezone.localdate(_local(start))
    if days <= 0:
        return end_of_day(today)
    calendar = Calendar(today, today + timedelta(days=days * 2 + 31), strict=strict)
    return end_of_day(calendar.next_working_days(today, days))


def working_days_left(
    due_at: datetime | None,
    *,
    now: datetime | None = None,
    stopped_at: datetime | None = None,
    calendar: Calendar | None = None,
) -> int | None:
    """Working days until a due time, counted from when the clock stopped if it is stopped.

    Before the due time: the working days from today to the due date, both counted (due today
    is 1; never less than 1 while there is time left). After it: negative, the working days
    since the due date (never more than -1 once it has passed, even on a weekend).
    """
    if due_at is None:
        return None
    reference = stopped_at or now or timezone.now()
    today, last = timezone.localdate(reference), due_date(due_at)
    calendar = calendar or Calendar(min(today, last), max(today, last))
    if reference <= due_at:
        return max(1, calendar.working_days_in(today, last))
    return -max(1, calendar.working_days_in(last + DAY, today))


def is_overdue(due_at: datetime | None, *, now: datetime | None = None, stopped_at: datetime | None = None) -> bool:
    """Past its due time and not stopped: the same rule for the applicant, the clerk and the API."""
    return bool(due_at and not stopped_at and due_at < (now or timezone.now()))


def resume_due_at(due_at: datetime, *, stopped_at: datetime, resumed_at: datetime) -> datetime:
    """The due time after a stopped clock restarts.

    It moves later by the working days after the day it stopped, up to and including the day it
    resumed: stopped on Friday and answered on Monday gives the department one more day (Monday);
    stopped and answered on the same day gives none.
    """
    stop_day, resume_day = timezone.localdate(_local(stopped_at)), timezone.localdate(_local(resumed_at))
    last = due_date(due_at)
    lost = Calendar(stop_day, resume_day).working_days_in(stop_day + DAY, resume_day)
    if lost <= 0:
        return due_at
    calendar = Calendar(last, last + timedelta(days=lost * 2 + 31), strict=True)
    return end_of_day(calendar.next_working_days(last, lost))


WARN_DAYS_AHEAD = 60


def coverage_warning(*, now: datetime | None = None) -> str | None:
    """What an operator must do before deadlines stop: None while the calendar is complete for
    more than WARN_DAYS_AHEAD days ahead."""
    today = timezone.localdate(now or timezone.now())
    cover = coverage()
    if cover.last is None or not cover.covers(today.year):
        return _(
            "The working-day calendar is not complete for %(year)s: no statutory deadline can be computed. "
            "Enter the year's public holidays and mark the year complete."
        ) % {"year": today.year}
    ends = date(cover.last, 12, 31)
    if (ends - today).days < WARN_DAYS_AHEAD:
        return _(
            "The working-day calendar ends on %(date)s. Deadlines that reach %(next)s will be refused until its "
            "public holidays are entered and the year is marked complete."
        ) % {"date": date_format(ends, "DATE_FORMAT"), "next": cover.last + 1}
    if cover.provisional:
        return _(
            "The working-day calendar of %(year)s is provisional (statutory dates only, no make-up working days). "
            "Load the State Council's arrangement when it is published."
        ) % {"year": cover.provisional[0]}
    return None
