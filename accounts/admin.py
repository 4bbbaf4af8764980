from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Department, Membership, Organisation, User, VerifiedAttribute


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["department"]


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
    list_display = ["user", "department", "role", "created_at"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user", "department"]


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
