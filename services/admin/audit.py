"""What every catalogue admin page shares: who counts as catalogue staff, which services they
may edit, and the CatalogueChange written for every save and delete made in the admin.
"""

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from guardian.shortcuts import get_objects_for_user

from accounts.models import Membership, Role, User
from services.actions import CHANGE_SERVICE, catalogue_change_record
from services.models import CatalogueChange, Service


def acting_user(request: HttpRequest) -> User:
    """The person making an admin request, as the actor the catalogue actions record."""
    return cast(User, request.user)


def is_catalogue_staff(user: Any) -> bool:
    if not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, role=Role.DEPARTMENT_ADMIN).exists()


def editable_services(user: Any) -> QuerySet[Service]:
    """The services this person may edit: all for a superuser, else those granted to them."""
    if user.is_superuser:
        return Service.objects.all()
    if not is_catalogue_staff(user):
        return Service.objects.none()
    return get_objects_for_user(user, CHANGE_SERVICE, klass=Service, accept_global_perms=False)


def _diff(form: forms.ModelForm) -> dict[str, dict[str, Any]]:
    changes = {
        name: {"from": form.initial.get(name), "to": form.cleaned_data.get(name)}
        for name in form.changed_data
        if name not in ("DELETE", "id")
    }
    return {name: change for name, change in changes.items() if change["from"] != change["to"]}


class AuditedAdmin(admin.ModelAdmin):
    """Writes a CatalogueChange for every save and delete made in the admin."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalogue_change_record(
            actor=acting_user(request),
            obj=obj,
            action=CatalogueChange.Action.CHANGED if change else CatalogueChange.Action.CREATED,
            changes=_diff(form) if change else {},
        )

    def delete_model(self, request, obj):
        catalogue_change_record(actor=acting_user(request), obj=obj, action=CatalogueChange.Action.DELETED)
        super().delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        changed_forms = {id(f.instance): f for f in formset.forms if f.has_changed()}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            catalogue_change_record(actor=acting_user(request), obj=obj, action=CatalogueChange.Action.CREATED)
        for obj, _fields in formset.changed_objects:
            inline_form = changed_forms.get(id(obj))
            catalogue_change_record(
                actor=acting_user(request),
                obj=obj,
                action=CatalogueChange.Action.CHANGED,
                changes=_diff(inline_form) if inline_form else {},
            )
        for obj in formset.deleted_objects:
            catalogue_change_record(actor=acting_user(request), obj=obj, action=CatalogueChange.Action.DELETED)


class CatalogueStaffAdmin(AuditedAdmin):
    """Reference data (dictionary, document types, life events): department administrators may look."""

    def has_module_permission(self, request):
        return is_catalogue_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return is_catalogue_staff(request.user)
