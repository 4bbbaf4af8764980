from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Department,
    EidIdentity,
    Invitation,
    Membership,
    MembershipChange,
    Organisation,
    User,
    VerifiedAttribute,
)
from accounts.staff import membership_change_record


class MembershipInline(admin.TabularInline):
    """Read-only here: roles are given on the Memberships page (or by a department
    administrator), where every change is recorded."""

    model = Membership
    extra = 0
    fields = ["department", "role", "created_at", "suspended_at"]
    readonly_fields = ["department", "role", "created_at", "suspended_at"]
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return Membership.all_objects.select_related("department")  # suspended roles too

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "email", "is_staff", "is_active"]
    search_fields = ["username", "display_name", "email"]
    inlines = [MembershipInline]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("One Door", {"fields": ("display_name", "preferred_language", "resident_id", "email_verified_at")}),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_zh", "short_code"]
    search_fields = ["code", "name_en", "name_zh"]


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "department", "role", "suspended_at"]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        # Django checks the unique constraint through the default manager, which leaves suspended
        # roles out: look at every row, so a duplicate is a form error and not a failed save.
        duplicate = Membership.all_objects.filter(
            user=cleaned.get("user"), department=cleaned.get("department"), role=cleaned.get("role")
        ).exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise ValidationError(_("This person already has this role in this department (perhaps suspended)."))
        return cleaned


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Memberships set here are recorded like those a department administrator sets."""

    form = MembershipForm
    list_display = ["user", "department", "role", "created_at", "suspended_at"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user", "department"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return Membership.all_objects.select_related("user", "department")  # suspended roles too

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]
        if not change:
            super().save_model(request, obj, form, change)
            membership_change_record(actor=actor, membership=obj, action=MembershipChange.Action.GRANTED)
            if obj.suspended_at is not None:
                membership_change_record(actor=actor, membership=obj, action=MembershipChange.Action.SUSPENDED)
            if not obj.user.is_staff:
                User.objects.filter(pk=obj.user_id).update(is_staff=True)
            return
        before = Membership.all_objects.select_related("user", "department").get(pk=obj.pk)
        same_role = (before.user_id, before.department_id, before.role) == (obj.user_id, obj.department_id, obj.role)
        super().save_model(request, obj, form, change)
        if not same_role:
            membership_change_record(actor=actor, membership=before, action=MembershipChange.Action.REVOKED)
            membership_change_record(actor=actor, membership=obj, action=MembershipChange.Action.GRANTED)
        if (before.suspended_at is None) != (obj.suspended_at is None):
            action = MembershipChange.Action.RESUMED if obj.suspended_at is None else MembershipChange.Action.SUSPENDED
            membership_change_record(actor=actor, membership=obj, action=action)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_change_record(actor=request.user, membership=obj, action=MembershipChange.Action.REVOKED)  # type: ignore[arg-type]
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user", "department"):
            membership_change_record(actor=request.user, membership=membership, action=MembershipChange.Action.REVOKED)  # type: ignore[arg-type]
        super().delete_queryset(request, queryset)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "registration_number", "legal_representative_id_number"]
    search_fields = ["name", "registration_number"]
    filter_horizontal = ["representatives"]


@admin.register(VerifiedAttribute)
class VerifiedAttributeAdmin(admin.ModelAdmin):
    list_display = ["user", "element_key", "source", "verified_at"]
    list_filter = ["source"]
    search_fields = ["user__username", "element_key"]


@admin.register(EidIdentity)
class EidIdentityAdmin(admin.ModelAdmin):
    """Linked national eIDs: read here, made only by an eID sign-in."""

    list_display = ["user", "issuer", "subject", "linked_at", "last_used_at"]
    search_fields = ["user__username", "user__display_name", "subject"]
    readonly_fields = ["user", "issuer", "subject", "linked_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are sent and withdrawn on the staff page, where each is recorded."""

    list_display = ["name", "email", "department", "role", "created_at", "expires_at", "accepted_at", "withdrawn_at"]
    list_filter = ["role", "department"]
    search_fields = ["name", "email"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MembershipChange)
class MembershipChangeAdmin(admin.ModelAdmin):
    """The record of staff changes: read-only."""

    list_display = ["created_at", "action", "user", "department", "role", "actor"]
    list_filter = ["action", "department"]
    search_fields = ["user__username", "user__display_name", "invitation__email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
