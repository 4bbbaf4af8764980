"""An independent reference for expected due dates in tests: it asks the chinese-calendar package
day by day (and, for the provisional year after it, weekdays minus the statutory fixed dates),
never the portal's clock."""

import datetime

import chinese_calendar

from workflows.holidays import STATUTORY_FIXED, official_years


def is_working_day(day: datetime.date) -> bool:
    if day.year in official_years():
        return chinese_calendar.is_workday(day)
    qingming = next(
        d for d, term in chinese_calendar.get_solar_terms(datetime.date(day.year, 4, 1), datetime.date(day.year, 4, 30))
        if term == "清明"
    )  # fmt: skip
    fixed = {datetime.date(day.year, month, dom) for (month, dom), _name in STATUTORY_FIXED} | {qingming}
    return day.weekday() < 5 and day not in fixed


def expected_due_date(started: datetime.date, working_days: int) -> datetime.date:
    """The last day of a limit of `working_days` started on the local day `started`."""
    day = started
    while working_days > 0:
        day += datetime.timedelta(days=1)
        if is_working_day(day):
            working_days -= 1
    return day
