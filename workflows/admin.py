"""The admin of workflows: the working-day calendar (local holidays, make-up days, stopped
periods, and which years are complete; official holidays come from `manage.py load_holidays`),
applications and mandates read-only; and the record of every administrator's look at a person
or an application (the person sees it in "Who looked at my data")."""

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.admin import UserAdmin
from accounts.admin import VerifiedAttributeAdmin as AccountsVerifiedAttributeAdmin
from accounts.models import User, VerifiedAttribute
from workflows.models import (
    Application,
    ApplicationGroup,
    CalendarDay,
    CalendarYear,
    ClockStop,
    Mandate,
    RetentionRecord,
)
from workflows.models.calendar import CalendarSource
from workflows.privacy.retention import applications_due, retention_ends_at
from workflows.workbench.access import admin_viewed


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


# --- Retention (workflows.privacy.retention) ------------------------------------------------


class FallsDueFilter(admin.SimpleListFilter):
    """Records of what the sweep removed, by when; the "coming up" view lists what it will remove."""

    title = _("removed")
    parameter_name = "removed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("30", _("In the last 30 days"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "30":
            return queryset.filter(removed_at__gte=timezone.now() - timedelta(days=30))
        return queryset


@admin.register(RetentionRecord)
class RetentionRecordAdmin(admin.ModelAdmin):
    """What the retention sweep removed and when; and, at /falling-due/, what falls due in the
    next 30 days. Application numbers and dates only: no one's data is shown."""

    list_display = ["application", "service", "finished_at", "retention_days", "removed_at", "answers_removed",
                    "documents_removed"]  # fmt: skip
    list_filter = [FallsDueFilter, "service"]
    list_select_related = ["application", "service"]
    search_fields = ["application__number"]
    change_list_template = "admin/workflows/retentionrecord/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.falling_due_view)
        return [path("falling-due/", view, name="workflows_retentionrecord_falling_due"), *super().get_urls()]

    def falling_due_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        applications = (
            applications_due(now=now, within=timedelta(days=30))
            .select_related("service")
            .order_by("decided_at", "pk")[:500]
        )
        rows = [{"application": a, "ends_at": retention_ends_at(a)} for a in applications]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Retention: falling due in the next 30 days"),
            "opts": self.model._meta,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/workflows/retentionrecord/falling_due.html", context)


# --- Looks at a person's data are recorded -----------------------------------------------------


class RecordsLooks(admin.ModelAdmin):
    """Opening one object's page (GET) records an access to the person it is about."""

    # Each admin names the field holding the person's id (and, for an application, its own id).
    person_field: str
    application_field: str | None = None

    def person_of(self, obj: Any) -> tuple[int | None, int | None]:
        """(the person's id, the application's id or None)."""
        application_id = getattr(obj, self.application_field) if self.application_field else None
        return getattr(obj, self.person_field), application_id

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", 200) == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                person_id, application_id = self.person_of(obj)
                if person_id is not None and person_id != request.user.pk:
                    admin_viewed(accessor=request.user, person_id=person_id, application_id=application_id)  # type: ignore[arg-type]
        return response


class PersonAdmin(RecordsLooks, UserAdmin):
    person_field = "pk"


class PersonAttributeAdmin(RecordsLooks, AccountsVerifiedAttributeAdmin):
    person_field = "user_id"


# The accounts app registers these; here the same pages also record each look (accounts cannot
# know about data-access records: they live in workflows).
admin.site.unregister(User)
admin.site.register(User, PersonAdmin)
admin.site.unregister(VerifiedAttribute)
admin.site.register(VerifiedAttribute, PersonAttributeAdmin)


class ReadOnly(RecordsLooks):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnly):
    list_display = ["number", "service", "status", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["number"]
    list_select_related = ["service"]
    exclude = ["data"]  # answers are read on the clerk's page, where sensitive values are masked

    person_field = "applicant_id"
    application_field = "pk"


@admin.register(ApplicationGroup)
class ApplicationGroupAdmin(ReadOnly):
    list_display = ["__str__", "life_event", "submitted_at", "updated_at"]
    search_fields = ["number"]
    exclude = ["data", "changed_verified", "field_revisions"]

    person_field = "applicant_id"


@admin.register(Mandate)
class MandateAdmin(ReadOnly):
    list_display = ["pk", "valid_from", "valid_until", "may_submit", "accepted_at", "ended_at"]

    person_field = "principal_id"
