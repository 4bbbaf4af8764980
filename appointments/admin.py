"""Administrators manage places, their opening hours, what each service offers there, and
closures. A closure is added through `closure_add`, which moves (or cancels) the bookings it
hits and tells the people; a saved closure's times are not edited afterwards."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from appointments.actions import closure_add, offering_capacity_apply
from appointments.models import Appointment, Closure, Offering, OpeningHours, Place


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class OfferingInline(admin.TabularInline):
    model = Offering
    extra = 0
    autocomplete_fields = ["service"]


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_zh", "department", "kind", "active"]
    list_filter = ["department", "kind", "active"]
    search_fields = ["code", "name_en", "name_zh"]
    inlines = [OpeningHoursInline, OfferingInline]

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Offering:
            for offering in formset.new_objects + [changed for changed, _fields in formset.changed_objects]:
                offering_capacity_apply(offering=offering)


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["place", "starts_at", "ends_at", "reason_en"]
    list_filter = ["place"]
    fields = ["place", "starts_at", "ends_at", "reason_en", "reason_zh"]

    def get_readonly_fields(self, request: HttpRequest, obj: Closure | None = None) -> list[str]:
        return ["place", "starts_at", "ends_at"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Closure, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["reason_en", "reason_zh"])
            return
        closure, moved, cancelled = closure_add(
            place=obj.place,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            reason_en=obj.reason_en,
            reason_zh=obj.reason_zh,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = closure.pk
        messages.info(
            request,
            _(
                "Bookings moved to the next free time: %(moved)d; cancelled (no free time): %(cancelled)d. "
                "Everyone was told."
            )
            % {"moved": moved, "cancelled": cancelled},
        )


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "offering", "person", "status"]
    list_filter = ["status", "offering__place"]
    date_hierarchy = "starts_at"
    list_select_related = ["offering__place", "offering__service", "person"]
    readonly_fields = [field.name for field in Appointment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Appointment | None = None) -> bool:
        return False
