"""Services in the admin: what a service is, its versions, who may edit it (granted by a
superuser as a django-guardian object permission), and starting a new draft.
"""

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.shortcuts import get_users_with_perms

from accounts.models import Role, User
from accounts.selectors import members_of
from services import actions
from services.actions import CHANGE_SERVICE
from services.admin.audit import AuditedAdmin, acting_user, editable_services, is_catalogue_staff
from services.models import Service, ServiceVersion


class GrantForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label=gettext_lazy("Department administrator"),
        help_text=gettext_lazy("They will be able to edit this service and draft its versions."),
    )


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = ("code", "name_en", "name_zh", "lead_department", "category", "online", "at_counter", "current")
    list_filter = ("lead_department", "category", "online", "at_counter")
    search_fields = ("code", "name_en", "name_zh", "summary_en", "summary_zh")
    list_select_related = ("lead_department",)
    readonly_fields = ("versions_overview", "editors")
    actions = ("new_draft_action",)
    fieldsets = (
        (None, {"fields": ("code", "lead_department", "category")}),
        (gettext_lazy("Names"), {"fields": ("name_en", "name_zh", "summary_en", "summary_zh", "life_situations")}),
        (gettext_lazy("Channels"), {"fields": ("online", "at_counter")}),
        (gettext_lazy("Retention"), {"fields": ("retention_days",)}),
        (gettext_lazy("Versions and editors"), {"fields": ("versions_overview", "editors")}),
    )

    def get_queryset(self, request):
        return editable_services(request.user).select_related("lead_department").prefetch_related("versions")

    def has_module_permission(self, request):
        return is_catalogue_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        user = request.user
        if user.is_superuser:
            return True
        if not is_catalogue_staff(user):
            return False
        if obj is None:
            return editable_services(user).exists()
        return user.has_perm(CHANGE_SERVICE, obj)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not request.user.is_superuser:
            # A department administrator edits the service, not where it belongs.
            fields += ["code", "lead_department"]
        return fields

    @admin.display(description=gettext_lazy("Published version"))
    def current(self, obj: Service) -> str:
        published = [v for v in obj.versions.all() if v.status == ServiceVersion.Status.PUBLISHED]
        return f"v{published[0].number}" if published else "—"

    @admin.display(description=gettext_lazy("Versions"))
    def versions_overview(self, obj: Service):
        if obj.pk is None:
            return "—"
        rows = format_html_join(
            "",
            '<li><a href="{}">v{} — {}</a></li>',
            (
                (reverse("admin:services_serviceversion_change", args=[v.pk]), v.number, v.get_status_display())
                for v in obj.versions.order_by("-number")
            ),
        )
        new_draft = reverse("admin:services_service_new_draft", args=[obj.pk])
        return format_html(
            '<ul>{}</ul><p><a class="button" href="{}">{}</a></p>', rows, new_draft, _("New draft from current")
        )

    @admin.display(description=gettext_lazy("Who may edit"))
    def editors(self, obj: Service):
        if obj.pk is None:
            return "—"
        users = get_users_with_perms(obj, only_with_perms_in=["change_service"], with_superusers=False)
        names = ", ".join(sorted(getattr(user, "username", str(user)) for user in users)) or _("superusers only")
        grant = reverse("admin:services_service_grant", args=[obj.pk])
        return format_html('{} — <a href="{}">{}</a>', names, grant, _("Grant or revoke"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/new-draft/", view(self.new_draft_view), name="services_service_new_draft"),
            path("<int:pk>/grant/", view(self.grant_view), name="services_service_grant"),
            *super().get_urls(),
        ]

    def _draft(self, request: HttpRequest, service: Service) -> ServiceVersion | None:
        try:
            draft = actions.version_new_draft(service=service, actor=acting_user(request))
        except ValidationError as exc:
            self.message_user(request, f"{service.code}: {' '.join(exc.messages)}", messages.ERROR)
            return None
        self.message_user(
            request, _("Draft v%(number)d of %(code)s created.") % {"number": draft.number, "code": service.code}
        )
        return draft

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        service = get_object_or_404(self.get_queryset(request), pk=pk)
        if request.method != "POST":
            return TemplateResponse(
                request,
                "services/admin/confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("New draft of %(name)s") % {"name": service.name},
                    "question": _(
                        "Create a new draft version, copying the current one with its form, materials, fees and route?"
                    ),
                    "button": _("Create the draft"),
                    "opts": self.model._meta,
                },
            )
        draft = self._draft(request, service)
        if draft is None:
            return HttpResponseRedirect(reverse("admin:services_service_change", args=[service.pk]))
        return HttpResponseRedirect(reverse("admin:services_serviceversion_change", args=[draft.pk]))

    @admin.action(description=gettext_lazy("New draft from the current version"))
    def new_draft_action(self, request, queryset):
        for service in queryset:
            self._draft(request, service)

    def grant_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.is_superuser:
            raise Http404
        service = get_object_or_404(Service, pk=pk)
        candidates = User.objects.filter(pk__in=members_of(roles=(Role.DEPARTMENT_ADMIN,)), is_active=True)
        form = GrantForm(request.POST or None)
        cast(forms.ModelChoiceField, form.fields["user"]).queryset = candidates
        if request.method == "POST" and "revoke" in request.POST:
            user = get_object_or_404(User, pk=request.POST["revoke"])
            actions.service_revoke_change(service=service, user=user, actor=acting_user(request))
            self.message_user(request, _("%(user)s may no longer edit this service.") % {"user": user.username})
            return HttpResponseRedirect(request.path)
        if request.method == "POST" and form.is_valid():
            user = form.cleaned_data["user"]
            actions.service_grant_change(service=service, user=user, actor=acting_user(request))
            self.message_user(request, _("%(user)s may now edit this service.") % {"user": user.username})
            return HttpResponseRedirect(request.path)
        editors = get_users_with_perms(service, only_with_perms_in=["change_service"], with_superusers=False)
        return TemplateResponse(
            request,
            "services/admin/grant.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Who may edit %(name)s") % {"name": service.name},
                "service": service,
                "form": form,
                "editors": editors,
                "opts": self.model._meta,
            },
        )
