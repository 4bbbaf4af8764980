"""Service versions in the admin: the form, materials, fees and route of a draft, its route
diagram and what stops it from being published, and publish / retire / new draft. Published and
retired versions are shown read-only.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from services import actions
from services.actions import CHANGE_SERVICE, PublishRefused
from services.admin.audit import AuditedAdmin, acting_user, editable_services, is_catalogue_staff
from services.admin.route_builder import BuilderTextarea, ConditionTextarea, builder_options, problems_json
from services.diagram import route_svg
from services.models import Fee, FormField, MaterialRequirement, ServiceVersion
from services.routes import RouteError, check_route_steps, parse_route, version_element_kinds, version_materials
from services.validation import version_problems


class VersionPartInline(admin.TabularInline):
    """Rows of a version: editable while the version is a draft the person may edit."""

    extra = 0
    formfield_overrides = {models.JSONField: {"widget": ConditionTextarea}}

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
    fields = (
        "label_en",
        "label_zh",
        "amount",
        "per_unit",
        "exempt_when",
        "refund_on_withdrawal",
        "refund_on_rejection",
    )


class VersionForm(forms.ModelForm):
    class Meta:
        model = ServiceVersion
        fields = (
            "service",
            "time_limit_days",
            "minimum_assurance",
            "eligibility",
            "roles",
            "produces",
            "route",
            "rejection_reasons",
        )
        help_texts = {
            "route": gettext_lazy(
                'JSON: {"steps": [{"key": "check", "department": "market", "kind": "review", "sla_days": 5}, '
                '{"key": "issue", "department": "market", "kind": "issue", "after": ["check"], '
                '"document_type": "business-licence"}]}. Kinds: review, automatic (with "handler"), issue (with '
                '"document_type"). Optional: "when" (a condition), "label_en", "label_zh", "on_reject", and on '
                'review steps "transfer_to" (departments a clerk may transfer the step to without approval).'
            ),
            "roles": gettext_lazy(
                'JSON list: [{"about": "mother", "is": "applicant", "question": "parents.applicant_is_mother"}]: '
                "when the applicant answers yes to the question (a yes/no field of the form), the mother.* fields "
                'are the applicant\'s verified values ("is": "applicant") or their spouse\'s ("is": "spouse").'
            ),
            "produces": gettext_lazy(
                'JSON list of data element keys, e.g. ["business.credit_code"]: what an approval of this service '
                "produces; later applications of the same life event take them instead of asking."
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

    class Media:
        css = {"all": ["css/route_diagram.css"]}

    def get_fieldsets(self, request, obj=None):
        main: tuple[str, ...] = (
            "service",
            "number",
            "status",
            "published_at",
            "retired_at",
            "time_limit_days",
            "minimum_assurance",
        )
        return (
            (None, {"fields": main}),
            (gettext_lazy("Route"), {"fields": ("route", "diagram", "publish_check")}),
            (gettext_lazy("Eligibility and rejection reasons"), {"fields": ("eligibility", "rejection_reasons")}),
            (gettext_lazy("Roles and data produced for the life event"), {"fields": ("roles", "produces")}),
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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and not self.has_change_permission(request, obj):
            return form  # read-only: the fields are shown, not edited
        options = builder_options(obj)
        problems: list = []
        if obj is not None and obj.pk:
            problems = problems_json(
                check_route_steps(obj.route, element_kinds=version_element_kinds(obj), materials=version_materials(obj))
            )
        preview_url = reverse("admin:services_serviceversion_route_preview")
        version_id = obj.pk if obj is not None else None
        if "route" in form.base_fields:
            form.base_fields["route"].widget = BuilderTextarea(
                builder="route", options=options, problems=problems, preview_url=preview_url, version_id=version_id
            )
        if "eligibility" in form.base_fields:
            form.base_fields["eligibility"].widget = BuilderTextarea(builder="eligibility", options=options)
        return form

    def route_preview_view(self, request: HttpRequest) -> HttpResponse:
        """The route builder's live diagram and problems for a route as it is being edited
        (POST `route`: the JSON; `version`: the version being edited, if saved). Nothing is saved."""
        if request.method != "POST" or not self.has_add_permission(request):
            raise Http404
        version = None
        if request.POST.get("version"):
            version = self.get_queryset(request).filter(pk=request.POST["version"]).select_related("service").first()
            if version is None or not self.has_change_permission(request, version):
                raise Http404
        try:
            route = json.loads(request.POST.get("route") or "{}")
        except ValueError:
            return JsonResponse({"problems": [{"message": _("The route is not valid JSON."), "step": None}]})
        element_kinds = version_element_kinds(version) if version is not None else {}
        materials = version_materials(version) if version is not None else []
        problems = check_route_steps(route, element_kinds=element_kinds, materials=materials)
        try:
            diagram = route_svg(parse_route(route), title=_("Route diagram"))
        except RouteError as exc:
            diagram = format_html('<p class="od-builder__message">{}</p>', exc)
        return JsonResponse({"problems": problems_json(problems), "diagram": str(diagram)})

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
            path("route-preview/", view(self.route_preview_view), name="services_serviceversion_route_preview"),
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
            actions.version_publish(version=version, actor=acting_user(request))
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
            actions.version_retire(version=version, actor=acting_user(request))
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, _("%(version)s is retired.") % {"version": version}, messages.SUCCESS)
        return self._back(version)

    def new_draft_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk)
        try:
            draft = actions.version_new_draft(service=version.service, actor=acting_user(request))
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

    def _after_save(self, request: HttpRequest, obj: ServiceVersion, response: HttpResponse) -> HttpResponse:
        """A draft saved with problems in its route stays on its page, where each problem is
        shown next to the step that causes it, instead of going back to the list."""
        if not obj.is_draft or "_addanother" in request.POST:
            return response
        problems = check_route_steps(
            obj.route, element_kinds=version_element_kinds(obj), materials=version_materials(obj)
        )
        if not problems:
            return response
        self.message_user(
            request,
            _("The route has problems that stop it from being published; they are shown next to the steps."),
            messages.WARNING,
        )
        return self._back(obj)

    def response_change(self, request, obj):
        return self._after_save(request, obj, super().response_change(request, obj))

    def response_add(self, request, obj, post_url_continue=None):
        return self._after_save(request, obj, super().response_add(request, obj, post_url_continue))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["version"] = obj
        context["can_act"] = obj is not None and self.has_view_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)
