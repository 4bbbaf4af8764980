"""The working-day calendar's warning, for the administrator's banner."""

from datetime import date, datetime

from django import template

from workflows import clock

register = template.Library()


@register.simple_tag
def calendar_warning() -> str | None:
    return clock.coverage_warning()


@register.filter
def due_day(value: datetime | None) -> date | None:
    """A statutory due time as the last day it allows: `{{ due_at|due_day|date:"DATE_FORMAT" }}`."""
    if not isinstance(value, datetime):
        return value
    return clock.due_date(value)


@register.filter
def moment(value: object) -> datetime | object:
    """An ISO 8601 moment kept in JSON (a correction's `requested_at`) as a datetime, so the
    `date` filter shows it in local time: `{{ item.correction.requested_at|moment|date:"DATETIME_FORMAT" }}`."""
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
