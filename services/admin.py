"""The catalogue's administration: services, versions (form, materials, fees, route), life events.

Department administrators (accounts.Role.DEPARTMENT_ADMIN) edit only the services a superuser
granted them (django-guardian object permission services.change_service). Every save here
writes a CatalogueChange (who, when, what changed). Published versions are shown read-only.
"""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.shortcuts import get_objects_for_user, get_users_with_perms

from accounts.models import Membership, Role, User
from services import actions
from services.actions import CHANGE_SERVICE, PublishRefused, catalogue_change_record
from services.diagram import route_svg
from services.models import (
    CatalogueChange,
    DataElement,
    DocumentType,
    Fee,
    FormField,
    LifeEvent,
    LifeEventService,
    MaterialRequirement,
    Service,
    ServiceVersion,
)
from services.routes import RouteError, parse_route
from services.validation import version_problems


def _actor(request: HttpRequest) -> User:
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
            actor=_actor(request),
            obj=obj,
            action=CatalogueChange.Action.CHANGED if change else CatalogueChange.Action.CREATED,
            changes=_diff(form) if change else {},
        )

    def delete_model(self, request, obj):
        catalogue_change_record(actor=_actor(request), obj=obj, action=CatalogueChange.Action.DELETED)
        super().delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        changed_forms = {id(f.instance): f for f in formset.forms if f.has_changed()}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            catalogue_change_record(actor=_actor(request), obj=obj, action=CatalogueChange.Action.CREATED)
        for obj, _fields in formset.changed_objects:
            inline_form = changed_forms.get(id(obj))
            catalogue_change_record(
                actor=_actor(request),
                obj=obj,
                action=CatalogueChange.Action.CHANGED,
                changes=_diff(inline_form) if inline_form else {},
            )
        for obj in formset.deleted_objects:
            catalogue_change_record(actor=_actor(request), obj=obj, action=CatalogueChange.Action.DELETED)


class CatalogueStaffAdmin(AuditedAdmin):
    """Reference data (dictionary, document types, life events): department administrators may look."""

    def has_module_permission(self, request):
        return is_catalogue_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return is_catalogue_staff(request.user)


@admin.register(DataElement)
class DataElementAdmin(CatalogueStaffAdmin):
    list_display = ("key", "label_en", "label_zh", "kind", "sensitivity")
    list_filter = ("kind", "sensitivity")
    search_fields = ("key", "label_en", "label_zh")
    fieldsets = (
        (None, {"fields": ("key", "kind", "sensitivity")}),
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


# --- Services --------------------------------------------------------------------------------


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
            draft = actions.version_new_draft(service=service, actor=_actor(request))
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
        candidates = User.objects.filter(memberships__role=Role.DEPARTMENT_ADMIN, is_active=True).distinct()
        form = GrantForm(request.POST or None)
        cast(forms.ModelChoiceField, form.fields["user"]).queryset = candidates
        if request.method == "POST" and "revoke" in request.POST:
            user = get_object_or_404(User, pk=request.POST["revoke"])
            actions.service_revoke_change(service=service, user=user, actor=_actor(request))
            self.message_user(request, _("%(user)s may no longer edit this service.") % {"user": user.username})
            return HttpResponseRedirect(request.path)
        if request.method == "POST" and form.is_valid():
            user = form.cleaned_data["user"]
            actions.service_grant_change(service=service, user=user, actor=_actor(request))
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


# --- Versions --------------------------------------------------------------------------------


class VersionPartInline(admin.TabularInline):
    """Rows of a version: editable while the version is a draft the person may edit."""

    extra = 0

    def _editable(self, request, obj) -> bool:
        if obj is None:
            return editable_services(request.user).exists()
        return obj.is_draft and (request.user.is_superuser or request.user.has_perm(CHANGE_SERVICE, obj.service))

    def has_view_permission(self, request, obj=None):
        return is_catalogue_staff(request.user)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


class FormFieldInline(VersionPartInline):
    model = FormField
    fields = ("order", "element", "section_en", "section_zh", "required", "when")


class MaterialInline(VersionPartInline):
    model = MaterialRequirement
    fields = ("order", "document_type", "required", "when")


class FeeInline(VersionPartInline):
    model = Fee
    fields = ("label_en", "label_zh", "amount")


class VersionForm(forms.ModelForm):
    class Meta:
        model = ServiceVersion
        fields = ("service", "time_limit_days", "eligibility", "route", "rejection_reasons")
        help_texts = {
            "route": gettext_lazy(
                'JSON: {"steps": [{"key": "check", "department": "market", "kind": "review", "sla_days": 5}, '
                '{"key": "issue", "department": "market", "kind": "issue", "after": ["check"], '
                '"document_type": "business-licence"}]}. Kinds: review, automatic (with "handler"), issue (with '
                '"document_type"). Optional: "when" (a condition), "label_en", "label_zh", "on_reject", and on '
                'review steps "transfer_to" (departments a clerk may transfer the step to without approval).'
            ),
            "eligibility": gettext_lazy(
                'JSON list: [{"when": {"element": "business.floor_area_m2", "gte": 10}, '
                '"reason_en": "...", "reason_zh": "..."}]'
            ),
        }


@admin.register(ServiceVersion)
class ServiceVersionAdmin(AuditedAdmin):
    form = VersionForm
    change_form_template = "services/admin/version_change_form.html"
    list_display = ("service", "number", "status", "published_at", "retired_at")
    list_filter = ("status", "service__lead_department", "service__category")
    search_fields = ("service__code", "service__name_en", "service__name_zh")
    list_select_related = ("service",)
    inlines = (FormFieldInline, MaterialInline, FeeInline)
    actions = ("publish_action",)
    readonly_fields = ("number", "status", "published_at", "retired_at", "diagram", "publish_check")

    def get_fieldsets(self, request, obj=None):
        main: tuple[str, ...] = ("service", "number", "status", "published_at", "retired_at", "time_limit_days")
        return (
            (None, {"fields": main}),
            (gettext_lazy("Route"), {"fields": ("route", "diagram", "publish_check")}),
            (gettext_lazy("Eligibility and rejection reasons"), {"fields": ("eligibility", "rejection_reasons")}),
        )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(service__in=editable_services(request.user))

    def has_module_permission(self, request):
        return is_catalogue_staff(request.user)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return is_catalogue_staff(request.user) and editable_services(request.user).exists()
        return request.user.is_superuser or request.user.has_perm(CHANGE_SERVICE, obj.service)

    def has_add_permission(self, request):
        return is_catalogue_staff(request.user) and editable_services(request.user).exists()

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        # Published and retired versions are shown read-only: they never change (DESIGN §4).
        return obj.is_draft and self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.is_draft and self.has_view_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("service")
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = editable_services(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            highest = ServiceVersion.objects.filter(service=obj.service).aggregate(n=Max("number"))["n"]
            obj.number = (highest or 0) + 1
        super().save_model(request, obj, form, change)

    @admin.display(description=gettext_lazy("Route diagram"))
    def diagram(self, obj: ServiceVersion):
        if obj.pk is None:
            return _("Save the version to see its route.")
        try:
            steps = parse_route(obj.route)
        except RouteError as exc:
            return str(exc)
        return route_svg(steps, title=_("Route of %(service)s v%(n)d") % {"service": obj.service.name, "n": obj.number})

    @admin.display(description=gettext_lazy("Ready to publish?"))
    def publish_check(self, obj: ServiceVersion):
        if obj.pk is None or not obj.is_draft:
            return "—"
        problems = version_problems(obj)
        if not problems:
            return _("Yes: nothing stops this version from being published.")
        return format_html(
            "<p>{}</p><ul>{}</ul>",
            _("Not yet. Fix these first:"),
            format_html_join("", "<li>{}</li>", ((problem,) for problem in problems)),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/publish/", view(self.publish_view), name="services_serviceversion_publish"),
            path("<int:pk>/retire/", view(self.retire_view), name="services_serviceversion_retire"),
            path("<int:pk>/new-draft/", view(self.new_draft_view), name="services_serviceversion_new_draft"),
            *super().get_urls(),
        ]

    def _version(self, request: HttpRequest, pk: int) -> ServiceVersion:
        version = self.get_queryset(request).filter(pk=pk).select_related("service").first()
        if version is None or request.method != "POST":
            raise Http404
        return version

    def _back(self, version: ServiceVersion) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:services_serviceversion_change", args=[version.pk]))

    def _publish(self, request: HttpRequest, version: ServiceVersion) -> bool:
        try:
            actions.version_publish(version=version, actor=_actor(request))
        except PublishRefused as refused:
            self.message_user(
                request,
                _("%(version)s was not published. Fix these problems first:") % {"version": version},
                messages.ERROR,
            )
            for problem in refused.messages:
                self.message_user(request, problem, messages.ERROR)
            return False
        self.message_user(
            request,
            _("%(code)s v%(n)d is published: citizens see it now.")
            % {"code": version.service.code, "n": version.number},
            messages.SUCCESS,
        )
        return True

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        if not self.has_change_permission(request, version):
            raise Http404
        self._publish(request, version)
        return self._back(version)

    def retire_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        try:
            actions.version_retire(version=version, actor=_actor(request))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, _("%(version)s is retired.") % {"version": version}, messages.SUCCESS)
        return self._back(version)

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        try:
            draft = actions.version_new_draft(service=version.service, actor=_actor(request))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return self._back(version)
        self.message_user(request, _("Draft v%(n)d created.") % {"n": draft.number}, messages.SUCCESS)
        return self._back(draft)

    @admin.action(description=gettext_lazy("Publish the selected drafts"))
    def publish_action(self, request, queryset):
        for version in queryset.select_related("service"):
            if self.has_change_permission(request, version):
                self._publish(request, version)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["version"] = obj
        context["can_act"] = obj is not None and self.has_view_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
