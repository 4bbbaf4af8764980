from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import (
    Department,
    EidIdentity,
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
    fields = ["department", "role", "created_at"]
    readonly_fields = ["department", "role", "created_at"]
    can_delete = False

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


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Memberships set here are recorded like those a department administrator sets."""

    list_display = ["user", "department", "role", "created_at"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user", "department"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change:
            before = Membership.objects.select_related("user", "department").get(pk=obj.pk)
            membership_change_record(actor=request.user, membership=before, action=MembershipChange.Action.REVOKED)  # type: ignore[arg-type]
        super().save_model(request, obj, form, change)
        membership_change_record(actor=request.user, membership=obj, action=MembershipChange.Action.GRANTED)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        membership_change_record(actor=request.user, membership=obj, action=MembershipChange.Action.REVOKED)  # type: ignore[arg-type]
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("user", "department"):
            membership_change_record(actor=request.user, membership=membership, action=MembershipChange.Action.REVOKED)  # type: ignore[arg-type]
        super().delete_queryset(request, queryset)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "registration_number"]
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
