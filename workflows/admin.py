"""The working-day calendar in the admin: local holidays, make-up days, stopped periods, and
which years are complete. Official holidays come from `manage.py load_holidays`."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from workflows.models import CalendarDay, CalendarYear, ClockStop
from workflows.models.calendar import CalendarSource


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "kind", "name", "source"]
    list_filter = ["kind", "source"]
    date_hierarchy = "date"
    search_fields = ["name"]
    readonly_fields = ["source"]
    fields = ["date", "kind", "name", "source"]

    @admin.display(description=_("weekday"))
    def weekday(self, day: CalendarDay) -> str:
        return date_format(day.date, "l")

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        # An administrator's entry is theirs: the official loader never overwrites it.
        obj.source = CalendarSource.LOCAL
        super().save_model(request, obj, form, change)


@admin.register(ClockStop)
class ClockStopAdmin(admin.ModelAdmin):
    list_display = ["starts_on", "ends_on", "reason", "created_by", "created_at"]
    date_hierarchy = "starts_on"
    fields = ["starts_on", "ends_on", "reason", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: ClockStop, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "note", "recorded_at"]
    fields = ["year", "note", "source"]
    readonly_fields = ["source"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["year"].help_text = _(
            "Mark a year complete only when all its public holidays and make-up working days are in the "
            "calendar: deadlines that reach it are then computed, otherwise refused."
        )
        return form

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        if not change:
            obj.source = CalendarSource.LOCAL
        super().save_model(request, obj, form, change)
