"""Which times an offering can be booked at, and how many places each still has.

A place opens on the working days of the working-day calendar (workflows.clock), at the opening
hours of the weekday (a make-up working day on a weekend: Monday's hours). Times are cut from
each opening period in slot lengths; a time that overlaps a closure, or has begun, is not
offered. Slot rows (with their booked count) exist only for times somebody booked.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Closure, Offering, OpeningHours, Slot
from lib.refusals import Refused
from workflows.clock import Calendar

DAYS_PER_PAGE = 5


class BookingRefused(Refused):
    """A booking, a reschedule or a cancellation that cannot be done; nothing changed."""


@dataclass(frozen=True)
class FreeTime:
    starts_at: datetime
    ends_at: datetime
    free: int

    @property
    def value(self) -> str:
        """The form value of the time: local, to the minute."""
        return timezone.localtime(self.starts_at).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class FreeDay:
    day: date
    times: list[FreeTime]


@dataclass(frozen=True)
class FreePage:
    days: list[FreeDay]
    first: date
    next_from: date | None  # where the next page starts, if there are later days
    previous_from: date | None


def _aware(day: date, moment) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment))


def _hours_by_weekday(offering: Offering) -> dict[int, list[OpeningHours]]:
    by_weekday: dict[int, list[OpeningHours]] = {}
    for hours in OpeningHours.objects.filter(place_id=offering.place_id).order_by("weekday", "opens"):
        by_weekday.setdefault(hours.weekday, []).append(hours)
    return by_weekday


def _times_of_day(
    offering: Offering, day: date, hours: dict[int, list[OpeningHours]], calendar: Calendar
) -> list[tuple[datetime, datetime]]:
    if not calendar.is_working_day(day):
        return []
    periods = hours.get(day.weekday()) or (hours.get(0, []) if day.weekday() >= 5 else [])
    length = timedelta(minutes=offering.slot_minutes)
    times = []
    for period in periods:
        start, closes = _aware(day, period.opens), _aware(day, period.closes)
        while start + length <= closes:
            times.append((start, start + length))
            start += length
    return times


def horizon(offering: Offering, now: datetime) -> tuple[date, date]:
    today = timezone.localdate(now)
    return today, today + timedelta(days=offering.days_ahead)


def free_page(offering: Offering, *, start: date | None = None, now: datetime | None = None) -> FreePage:
    """The next DAYS_PER_PAGE days from `start` that still have a free time, each with its times."""
    now = now or timezone.now()
    first_day, last_day = horizon(offering, now)
    start = max(start or first_day, first_day)
    hours = _hours_by_weekday(offering)
    calendar = Calendar()
    span_start, span_end = _aware(start, datetime.min.time()), _aware(last_day + timedelta(days=1), datetime.min.time())
    closures = list(
        Closure.objects.filter(place_id=offering.place_id, ends_at__gt=span_start, starts_at__lt=span_end).values_list(
            "starts_at", "ends_at"
        )
    )
    taken = {
        starts_at: capacity - booked
        for starts_at, capacity, booked in Slot.objects.filter(
            offering=offering, starts_at__gte=span_start, starts_at__lt=span_end
        ).values_list("starts_at", "capacity", "booked")
    }
    days: list[FreeDay] = []
    day = start
    while day <= last_day:
        free_times = []
        for starts_at, ends_at in _times_of_day(offering, day, hours, calendar):
            if starts_at <= now or any(s < ends_at and starts_at < e for s, e in closures):
                continue
            free = taken.get(starts_at, offering.capacity)
            if free > 0:
                free_times.append(FreeTime(starts_at, ends_at, free))
        if free_times:
            if len(days) == DAYS_PER_PAGE:
                return FreePage(days, start, day, _previous_from(offering, start, first_day))
            days.append(FreeDay(day, free_times))
        day += timedelta(days=1)
    return FreePage(days, start, None, _previous_from(offering, start, first_day))


def _previous_from(offering: Offering, start: date, first_day: date) -> date | None:
    # Going back a page by calendar days is close enough: the list starts at the first free day.
    if start <= first_day:
        return None
    return max(first_day, start - timedelta(days=DAYS_PER_PAGE + 2))


def parse_time(value: str) -> datetime | None:
    """A time chosen on the form ("2026-12-07T09:30", local), or None when it is not one."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if timezone.is_aware(moment):
        return None
    return timezone.make_aware(moment)


def bookable_time(offering: Offering, starts_at: datetime | None, *, now: datetime) -> tuple[datetime, datetime]:
    """The slot that starts at `starts_at`, checked: a real time of the offering, not begun, not
    closed, within the booking horizon. Raises BookingRefused with a message saying which."""
    if starts_at is None:
        raise BookingRefused(_("Choose a time from the list."))
    if starts_at <= now:
        raise BookingRefused(_("That time has already passed. Choose a later time."))
    day = timezone.localdate(starts_at)
    _first_day, last_day = horizon(offering, now)
    if day > last_day:
        raise BookingRefused(_("That day is too far ahead to book yet. Choose an earlier day."))
    for start, end in _times_of_day(offering, day, _hours_by_weekday(offering), Calendar()):
        if start == starts_at:
            if Closure.objects.filter(place_id=offering.place_id, starts_at__lt=end, ends_at__gt=start).exists():
                raise BookingRefused(_("The place is closed at that time. Choose another time."))
            return start, end
    raise BookingRefused(_("That is not a time this place takes appointments. Choose a time from the list."))
