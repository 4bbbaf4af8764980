"""Loads the official public holidays and make-up working days of mainland China.

The source is the `chinese-calendar` package, which follows the State Council's yearly notice
on holiday arrangements. Every year it covers is written to the working-day calendar and
marked complete. Rows an administrator entered (`source=local`) are never overwritten; official
rows of a loaded year that the package no longer lists (a corrected notice) are removed.
"""

import logging
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import version

import chinese_calendar
from chinese_calendar import constants
from django.db import transaction

from workflows.models import CalendarDay, CalendarYear
from workflows.models.calendar import CalendarSource, calendar_changed

logger = logging.getLogger("workflows.engine")


@dataclass
class YearLoaded:
    year: int
    holidays: int
    workdays: int


@dataclass
class HolidaysLoaded:
    source: str
    years: list[YearLoaded] = field(default_factory=list)

    @property
    def last_year(self) -> int | None:
        return max((loaded.year for loaded in self.years), default=None)


def official_years() -> range:
    """The years the installed package has the State Council's arrangements for."""
    years = sorted({day.year for day in constants.holidays})
    return range(years[0], years[-1] + 1)


def _name(value: str) -> str:
    try:
        holiday = constants.Holiday(value)
    except ValueError:
        return value
    return f"{holiday.value} · {holiday.chinese}"


def _official_days(year: int) -> dict[date, tuple[str, str]]:
    days = {
        day: (CalendarDay.Kind.HOLIDAY.value, _name(name))
        for day, name in constants.holidays.items()
        if day.year == year
    }
    days |= {
        day: (CalendarDay.Kind.WORKDAY.value, _name(name))
        for day, name in constants.workdays.items()
        if day.year == year
    }
    return days


def holidays_load_official(*, years: list[int] | None = None) -> HolidaysLoaded:
    """Writes every (or each given) year the package covers; running it twice changes nothing."""
    available = official_years()
    wanted = [year for year in (years or available) if year in available]
    result = HolidaysLoaded(source=f"chinese-calendar {version('chinesecalendar')}")
    for year in wanted:
        days = _official_days(year)
        with transaction.atomic():
            existing = {row.date: row for row in CalendarDay.objects.filter(date__year=year)}
            stale = [
                row.pk for day, row in existing.items() if row.source == CalendarSource.OFFICIAL and day not in days
            ]
            CalendarDay.objects.filter(pk__in=stale).delete()
            created, changed = [], []
            for day, (kind, name) in days.items():
                row = existing.get(day)
                if row is None:
                    created.append(CalendarDay(date=day, kind=kind, name=name, source=CalendarSource.OFFICIAL))
                elif row.source == CalendarSource.OFFICIAL and (row.kind, row.name) != (kind, name):
                    row.kind, row.name = kind, name
                    changed.append(row)
                # else: an administrator's entry for the day wins
            CalendarDay.objects.bulk_create(created)
            CalendarDay.objects.bulk_update(changed, ["kind", "name"])
            calendar_changed()  # bulk writes send no signals
            CalendarYear.objects.update_or_create(
                year=year, defaults={"source": CalendarSource.OFFICIAL, "note": result.source}
            )
        kinds = [kind for kind, _name in days.values()]
        result.years.append(
            YearLoaded(
                year=year,
                holidays=kinds.count(CalendarDay.Kind.HOLIDAY),
                workdays=kinds.count(CalendarDay.Kind.WORKDAY),
            )
        )
    logger.info("working-day calendar: loaded %s for %s", result.source, ", ".join(str(y.year) for y in result.years))
    return result


# The dates the holiday law (全国年节及纪念日放假办法, as revised in 2024) fixes in the solar
# calendar; Qingming is a solar term. The lunar festivals (Spring Festival, Dragon Boat,
# Mid-Autumn) and the make-up working days come only with the State Council's yearly notice.
STATUTORY_FIXED = [
    ((1, 1), "New Year's Day · 元旦"),
    ((5, 1), "Labour Day · 劳动节"),
    ((5, 2), "Labour Day · 劳动节"),
    ((10, 1), "National Day · 国庆节"),
    ((10, 2), "National Day · 国庆节"),
    ((10, 3), "National Day · 国庆节"),
]


def holidays_enter_provisional(*, year: int) -> int:
    """Enters the statutory holidays of a year the package does not cover yet, and marks the year
    complete but provisional, so deadlines reaching it are computed and operators are warned.

    Refuses a year the package covers (load that instead). Returns how many days were entered.
    """
    if year in official_years():
        raise ValueError(f"{year} is published: load it with load_holidays")
    qingming = next(
        day for day, term in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30)) if term == "清明"
    )
    days = {date(year, month, day): name for (month, day), name in STATUTORY_FIXED} | {
        qingming: "Tomb-sweeping Day · 清明"
    }
    reason = "provisional: the State Council's notice is not published yet"
    with transaction.atomic():
        for day, name in days.items():
            CalendarDay.objects.get_or_create(
                date=day,
                defaults={
                    "kind": CalendarDay.Kind.HOLIDAY,
                    "name": f"{name} ({reason})",
                    "source": CalendarSource.LOCAL,
                },
            )
        CalendarYear.objects.update_or_create(
            year=year,
            defaults={
                "source": CalendarSource.LOCAL,
                "provisional": True,
                "note": "Statutory fixed dates only; lunar festivals and make-up working days to follow the notice",
            },
        )
    logger.warning("working-day calendar: %s entered as provisional (%d statutory days)", year, len(days))
    return len(days)
