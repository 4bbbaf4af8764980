"""Counter filing ("one door", DESIGN §1): a counter clerk files for a walk-in person.

The person is identified by resident ID and their consent is recorded; the clerk fills the same
merged form as online (prefilled from the person's verified data), picks documents from the
person's vault, and submits through the same apply actions. The application is the person's:
it appears in their account. Only the clerk who started a counter draft can open it.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from workflows.apply import actions as apply_actions
from workflows.apply import forms as apply_forms
from workflows.apply import selectors as apply_selectors
from workflows.engine.errors import TransitionRefused
from workflows.models import ApplicationGroup
from workflows.workbench import selectors
from workflows.workbench.actions import counter_draft_start
from workflows.workbench.forms import CounterIdentifyForm
from workflows.workbench.selectors import COUNTER_ROLES
from workflows.workbench.views import _staff, staff_only


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    services = list(selectors.counter_services())
    form = CounterIdentifyForm(request.POST or None)
    service_code = request.POST.get("service", "")
    service_error = ""
    if request.method == "POST":
        service = next((s for s in services if s.code == service_code), None)
        if service is None:
            service_error = _("Choose the service the person applies for.")
        if form.is_valid() and service is not None:
            try:
                group = counter_draft_start(
                    clerk=_staff(request),
                    resident_id=form.cleaned_data["resident_id"],
                    service=service,
                    consent=form.cleaned_data["consent"],
                )
            except TransitionRefused as refused:
                form.add_error("resident_id", refused.message)
            except apply_actions.ApplyError as refused:
                service_error = refused.message
            else:
                return redirect("workflows:workbench-counter-form", group_id=group.pk)
    context = {
        "form": form,
        "services": services,
        "service_code": service_code,
        "service_error": service_error,
        "drafts": ApplicationGroup.objects.filter(filed_by=_staff(request), submitted_at__isnull=True)
        .select_related("applicant")
        .order_by("-updated_at")[:20],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/workbench/counter_start.html", context, status=status)


def _material_views(group: ApplicationGroup, form, errors: dict[int, list[str]]) -> list:
    shown = form.shown_materials(group.data)
    attachments = apply_selectors.attachments_by_type(group)
    vault = apply_selectors.reusable_documents_by_type(
        user=group.applicant, document_types=[m.document_type for m in shown]
    )
    return [
        apply_forms.MaterialView(
            spec=spec,
            required=spec.required(group.data),
            documents=vault.get(spec.document_type.pk, []),
            attached=attachments[spec.document_type.pk].document if spec.document_type.pk in attachments else None,
            errors=errors.get(spec.document_type.pk, []),
        )
        for spec in shown
    ]


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET", "POST"])
def fill(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.counter_draft(clerk=_staff(request), group_id=group_id)
    if not group.is_draft:
        return redirect("workflows:workbench-counter-done", group_id=group.pk)
    person = group.applicant
    form = apply_selectors.group_form(group)
    typed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    material_errors: dict[int, list[str]] = {}
    problems: list[str] = []
    if request.method == "POST":
        values, bases = apply_forms.posted_answers(request.POST, form.fields)
        result = apply_actions.draft_save(applicant=person, group_id=group.pk, values=values, base_values=bases)
        errors = result.errors
        typed = {key: values[key] for key in errors if key in values}
        group.refresh_from_db()
        for spec in form.shown_materials(group.data):
            choice = request.POST.get(spec.name, "")
            if not choice:
                continue
            try:
                apply_actions.draft_attach_document(
                    applicant=person, group_id=group.pk, document_type=spec.document_type, document_id=choice
                )
            except apply_actions.AttachRefused as refused:
                material_errors[spec.document_type.pk] = [refused.message]
        if not errors and not material_errors and "submit" in request.POST:
            try:
                apply_actions.group_submit(applicant=person, group_id=group.pk, idempotency_key=f"counter-{group.pk}")
            except apply_actions.DraftIncomplete as incomplete:
                problems = [f"{item.label}: {item.reason}" for item in incomplete.missing]
            except apply_actions.ApplyError as refused:
                problems = [refused.message]
            else:
                messages.success(
                    request, _("Submitted for %(name)s. It is in their account now.") % {"name": person.name}
                )
                return redirect("workflows:workbench-counter-done", group_id=group.pk)
        elif not errors and not material_errors:
            messages.success(request, _("The answers are saved."))
            return redirect("workflows:workbench-counter-form", group_id=group.pk)
    known = apply_selectors.known_values(user=person, keys=[spec.key for spec in form.fields])
    questions = apply_forms.questions(
        specs=form.shown_fields(group.data),
        data=group.data,
        known=known,
        flagged=group.changed_verified,
        typed=typed,
        errors=errors,
    )
    context = {
        "group": group,
        "person": person,
        "masked_id": selectors.masked_id_number(person.resident_id),
        "questions": questions,
        "materials": _material_views(group, form, material_errors),
        "problems": problems,
        "has_errors": bool(errors or material_errors or problems),
    }
    status = 400 if context["has_errors"] else 200
    return render(request, "workflows/workbench/counter_form.html", context, status=status)


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET"])
def done(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.counter_draft(clerk=_staff(request), group_id=group_id)
    if group.is_draft:
        return redirect("workflows:workbench-counter-form", group_id=group.pk)
    context = {
        "group": group,
        "applications": list(group.applications.select_related("service").order_by("number")),
        "masked_id": selectors.masked_id_number(group.applicant.resident_id),
    }
    return render(request, "workflows/workbench/counter_done.html", context)
