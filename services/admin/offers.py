"""Proactive offer rules (免申即享) in the admin: which event of which service offers which
services, and which of them are granted without a request. Every save is a CatalogueChange;
every save also tells the notification task to read the rules again (offer_triggers_forget)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy

from services.admin.audit import CatalogueStaffAdmin
from services.models import OfferRule, OfferRuleService
from services.offer_rules import offer_triggers_forget


class OfferRuleServiceFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        trigger = getattr(self.instance, "trigger_service_id", None)
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            service = form.cleaned_data.get("service")
            if service is not None and service.pk == trigger:
                form.add_error(
                    "service", gettext_lazy("A rule cannot offer the service whose application sets it off.")
                )


class OfferRuleServiceInline(admin.TabularInline):
    model = OfferRuleService
    formset = OfferRuleServiceFormSet
    extra = 1
    autocomplete_fields = ("service",)


@admin.register(OfferRule)
class OfferRuleAdmin(CatalogueStaffAdmin):
    list_display = ("code", "name_en", "trigger_service", "trigger_event", "days_to_respond", "active")
    list_filter = ("active", "trigger_event")
    search_fields = ("code", "name_en", "name_zh", "trigger_service__code")
    autocomplete_fields = ("trigger_service",)
    inlines = (OfferRuleServiceInline,)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        offer_triggers_forget()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        offer_triggers_forget()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        offer_triggers_forget()

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        offer_triggers_forget()
