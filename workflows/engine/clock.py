"""The statutory clock: working days from a configurable calendar (DESIGN §5.6).

A working day is Monday to Friday, minus public holidays, plus make-up working days
(`CalendarDay`). Working time is counted in whole local days of 24 hours: time on a
working day counts, time on a rest day does not. So Friday 10:00 plus one working day is
Monday 10:00, and an application filed on Saturday starts its clock at Monday 00:00.

While the applicant owes a correction the clock is stopped; when they answer, the due time
moves later by exactly the working time that passed while it was stopped
(`resume_due_at`).

All functions take and return aware datetimes; days are local days of settings.TIME_ZONE.
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from workflows.models import CalendarDay

DAY = timedelta(days=1)
DAY_SECONDS = 86400


class Calendar:
    """The working-day calendar, loaded once for a span of dates (one query per span)."""

    def __init__(self, first: date, last: date) -> None:
        self._loaded: tuple[date, date] | None = None
        self._exceptions: dict[date, str] = {}
        self._load(first, last)

    def _load(self, first: date, last: date) -> None:
        if self._loaded and self._loaded[0] <= first and last <= self._loaded[1]:
            return
        if self._loaded:
            first, last = min(first, self._loaded[0]), max(last, self._loaded[1])
        rows = CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list("date", "kind")
        self._exceptions = dict(rows)
        self._loaded = (first, last)

    def working_days_in(self, first: date, last: date) -> int:
        """How many working days [first, last] holds: weekdays counted by arithmetic, then the
        calendar's exceptions in the span (so a long span costs no more than a short one)."""
        if last < first:
            return 0
        self._load(first, last)
        weeks, rest = divmod((last - first).days + 1, 7)
        count = weeks * 5 + sum(1 for offset in range(rest) if (last - timedelta(days=offset)).weekday() < 5)
        for day, kind in self._exceptions.items():
            if first <= day <= last:
                weekday = day.weekday() < 5
                if kind == CalendarDay.Kind.HOLIDAY and weekday:
                    count -= 1
                elif kind == CalendarDay.Kind.WORKDAY and not weekday:
                    count += 1
        return count

    def is_working_day(self, day: date) -> bool:
        if self._loaded is None or not (self._loaded[0] <= day <= self._loaded[1]):
            # Load ahead generously: deadlines walk forward in time.
            self._load(day - timedelta(days=31), day + timedelta(days=366))
        kind = self._exceptions.get(day)
        if kind == CalendarDay.Kind.HOLIDAY:
            return False
        if kind == CalendarDay.Kind.WORKDAY:
            return True
        return day.weekday() < 5


def _local(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("the statutory clock needs aware datetimes")
    return timezone.localtime(moment)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def is_working_day(day: date) -> bool:
    return Calendar(day, day).is_working_day(day)


def working_seconds_between(start: datetime, end: datetime, *, calendar: Calendar | None = None) -> float:
    """Working time between two moments, in seconds (0 when end is not after start).

    Pass a `calendar` loaded once to count many spans (a queue page) without a query each.
    """
    start, end = _local(start), _local(end)
    if end <= start:
        return 0.0
    calendar = calendar or Calendar(start.date(), end.date())
    first, last = start.date(), end.date()
    if first == last:
        return (end - start).total_seconds() if calendar.is_working_day(first) else 0.0
    total = 0.0
    if calendar.is_working_day(first):
        total += (_midnight(first + DAY) - start).total_seconds()
    if calendar.is_working_day(last):
        total += (end - _midnight(last)).total_seconds()
    # The whole days between: counted, not walked (a due date months away costs the same).
    return total + calendar.working_days_in(first + DAY, last - DAY) * DAY_SECONDS


def working_days_between(start: datetime, end: datetime, *, calendar: Calendar | None = None) -> int:
    """Whole working days between two moments (0 when end is not after start)."""
    return int(working_seconds_between(start, end, calendar=calendar) // DAY_SECONDS)


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The moment when `seconds` of working time have passed since `start`."""
    cursor = _local(start)
    remaining = float(seconds)
    if remaining <= 0:
        return cursor
    calendar = Calendar(cursor.date(), cursor.date() + timedelta(days=366))
    while True:
        day = cursor.date()
        next_midnight = _midnight(day + DAY)
        if calendar.is_working_day(day):
            available = (next_midnight - cursor).total_seconds()
            if remaining <= available:
                return cursor + timedelta(seconds=remaining)
            remaining -= available
        cursor = next_midnight


def add_working_days(start: datetime, days: int) -> datetime:
    """`start` plus a number of working days (Friday 10:00 + 1 → Monday 10:00)."""
    return add_working_seconds(start, days * DAY_SECONDS)


def working_days_left(
    due_at: datetime | None,
    *,
    now: datetime | None = None,
    stopped_at: datetime | None = None,
    calendar: Calendar | None = None,
) -> int | None:
    """Working days until a due time, counted from when the clock stopped if it is stopped.

    Negative when overdue. Partial days count as a day left (a step due later today has 1).
    """
    if due_at is None:
        return None
    reference = stopped_at or now or timezone.now()
    if due_at >= reference:
        seconds = working_seconds_between(reference, due_at, calendar=calendar)
        whole, part = divmod(seconds, DAY_SECONDS)
        return int(whole) + (1 if part else 0)
    return -working_days_between(due_at, reference, calendar=calendar)


def resume_due_at(due_at: datetime, *, stopped_at: datetime, resumed_at: datetime) -> datetime:
    """The due time after a stopped clock restarts: later by the working time it stood still."""
    return add_working_seconds(due_at, working_seconds_between(stopped_at, resumed_at))
