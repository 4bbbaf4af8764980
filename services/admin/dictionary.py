"""The catalogue's reference data in the admin: the data dictionary, document types and life
events, which all catalogue staff may look at, and the read-only log of catalogue changes, in
which a department administrator sees only the services they may edit.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from services.admin.audit import CatalogueStaffAdmin, editable_services, is_catalogue_staff
from services.models import CatalogueChange, DataElement, DocumentType, LifeEvent, LifeEventService


@admin.register(DataElement)
class DataElementAdmin(CatalogueStaffAdmin):
    list_display = ("key", "label_en", "label_zh", "kind", "sensitivity", "bound")
    list_filter = ("kind", "sensitivity", "bound")
    search_fields = ("key", "label_en", "label_zh")
    fieldsets = (
        (None, {"fields": ("key", "kind", "sensitivity", "bound", "held_by")}),
        (gettext_lazy("Labels"), {"fields": ("label_en", "label_zh", "help_en", "help_zh")}),
        (
            gettext_lazy("Validation"),
            {"fields": ("min_length", "max_length", "min_value", "max_value", "pattern", "choices")},
        ),
    )


@admin.register(DocumentType)
class DocumentTypeAdmin(CatalogueStaffAdmin):
    list_display = ("code", "name_en", "name_zh", "max_bytes", "validity_days")
    search_fields = ("code", "name_en", "name_zh")


class LifeEventServiceInline(admin.TabularInline):
    model = LifeEventService
    extra = 1
    autocomplete_fields = ("service",)


@admin.register(LifeEvent)
class LifeEventAdmin(CatalogueStaffAdmin):
    list_display = ("code", "name_en", "name_zh")
    search_fields = ("code", "name_en", "name_zh")
    inlines = (LifeEventServiceInline,)


@admin.register(CatalogueChange)
class CatalogueChangeAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_repr", "service")
    list_filter = ("action", "object_type", "service__lead_department")
    search_fields = ("object_repr", "actor__username", "service__code")
    date_hierarchy = "at"
    list_select_related = ("actor", "service")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_module_permission(self, request):
        return is_catalogue_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return is_catalogue_staff(request.user)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(service__in=editable_services(request.user))
