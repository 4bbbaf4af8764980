"""Counter filing ("one door", DESIGN §1): a counter clerk files for a walk-in person.

The person is identified by resident ID and their consent is recorded; they apply for one
service or a life event. The clerk fills the same merged form as online, on one page (prefilled
from the person's verified data), picks documents from the person's vault or scans the paper
ones into it (checked by content as online uploads), and submits through the same apply
actions. The application is the person's: it appears in their account. Only the clerk who
started a counter draft can open it, and every view of the form is a data-access record the
person sees.
"""

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.assurance import Level
from accounts.selectors import COUNTER_ROLES
from documents.models import Document
from documents.validation import UploadRejected
from lib.refusals import Refused
from lib.text import join_names
from workflows.apply import actions as apply_actions
from workflows.apply import forms as apply_forms
from workflows.apply import selectors as apply_selectors
from workflows.models import ApplicationGroup, NotificationPreference
from workflows.notifications.sms import mask_phone
from workflows.workbench import access, selectors
from workflows.workbench.actions import (
    IdentityNotChecked,
    counter_draft_start,
    counter_filing_allowed,
    identity_check_at_counter,
)
from workflows.workbench.forms import CounterIdentifyForm, CounterIdentityCheckForm
from workflows.workbench.views.staff import staff_only, staff_user

logger = logging.getLogger("workflows.workbench.counter")


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = CounterIdentifyForm(
        request.POST or None, services=selectors.counter_services(), life_events=selectors.counter_life_events()
    )
    if request.method == "POST" and form.is_valid():
        service, life_event = form.chosen()
        try:
            group = counter_draft_start(
                clerk=staff_user(request),
                resident_id=form.cleaned_data["resident_id"],
                consent=form.cleaned_data["consent"],
                identity=form.identity(),
                service=service,
                life_event=life_event,
                organisation_code=form.cleaned_data["organisation"],
                full_name=form.cleaned_data["full_name"],
                phone=form.cleaned_data["phone"],
            )
        except IdentityNotChecked as refused:
            logger.info("counter filing refused clerk=%s reason=no identity check", request.user.pk)
            form.add_error("identity_checked", refused.message)
        except Refused as refused:
            form.add_error("resident_id", refused.message)
        except apply_actions.NotARepresentative as refused:
            form.add_error("organisation", refused.message)
        except apply_actions.ApplyError as refused:
            form.add_error("applies_for", refused.message)
        else:
            return redirect("workflows:workbench-counter-form", group_id=group.pk)
    context = {
        "form": form,
        "drafts": ApplicationGroup.objects.filter(filed_by=staff_user(request), submitted_at__isnull=True)
        .select_related("applicant", "life_event")
        .prefetch_related("versions__service")
        .order_by("-updated_at")[:20],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/workbench/counter_start.html", context, status=status)


@dataclass
class CounterMaterialView(apply_forms.MaterialView):
    """A material on the counter page: a document of the person's vault, or a scan uploaded now."""

    upload_failed: bool = False

    @property
    def error_target(self) -> str:
        """The control the error summary links to: the file input when the upload was refused."""
        return f"{self.id}__file" if self.upload_failed else self.id


def _material_views(
    group: ApplicationGroup, form: apply_selectors.MergedForm, errors: dict[int, list[str]], failed_uploads: set[int]
) -> list[CounterMaterialView]:
    shown = form.shown_materials(group.data)
    attachments = apply_selectors.attachments_by_type(group)
    vault = apply_selectors.reusable_documents_by_type(
        user=group.applicant, document_types=[m.document_type for m in shown]
    )
    return [
        CounterMaterialView(
            spec=spec,
            required=spec.required(group.data),
            documents=vault.get(spec.document_type.pk, []),
            attached=attachments[spec.document_type.pk].document if spec.document_type.pk in attachments else None,
            errors=errors.get(spec.document_type.pk, []),
            upload_failed=spec.document_type.pk in failed_uploads,
        )
        for spec in shown
    ]


def _check_page(
    request: HttpRequest, *, clerk, group: ApplicationGroup, form: apply_selectors.MergedForm
) -> HttpResponse:
    """What will be filed, for the person to read (or take away printed) before it is."""
    known = apply_selectors.known_values(user=group.applicant, keys=[spec.key for spec in form.fields])
    context = {
        "group": group,
        "person": group.applicant,
        "masked_id": selectors.masked_id_number(group.applicant.resident_id),
        "service_names": join_names(
            str(version.service.name)
            for version in apply_selectors.ordered_versions(group.versions.all(), group.life_event)
        ),
        "questions": apply_forms.questions(
            specs=form.shown_fields(group.data), data=group.data, known=known, flagged=group.changed_verified
        ),
        "materials": _material_views(group, form, {}, set()),
    }
    access.counter_filing_viewed(
        accessor=clerk, group=group, department_id=selectors.counter_department_id(clerk=clerk)
    )
    return render(request, "workflows/workbench/counter_check.html", context)


def _refusal(error: UploadRejected | apply_actions.AttachRefused) -> str:
    if isinstance(error, apply_actions.ApplyError):
        return error.message
    return " ".join(error.messages)


def _materials_save(
    request: HttpRequest, *, group: ApplicationGroup, form: apply_selectors.MergedForm
) -> tuple[dict[int, list[str]], set[int]]:
    """Attaches, for each material, the scan the clerk uploaded (into the person's vault) or the
    vault document picked. Returns the errors by document type, and the types whose upload failed."""
    person = group.applicant
    errors: dict[int, list[str]] = {}
    failed_uploads: set[int] = set()
    for spec in form.shown_materials(group.data):
        document_type = spec.document_type
        upload = request.FILES.get(f"{spec.name}__file")
        choice = request.POST.get(spec.name, "")
        try:
            if upload is not None:
                # The person's vault, checked by content exactly as an online upload.
                apply_actions.draft_upload_document(
                    applicant=person,
                    group_id=group.pk,
                    document_type=document_type,
                    uploaded_file=upload,
                    source=Document.Source.COUNTER,
                )
            elif choice:
                apply_actions.draft_attach_document(
                    applicant=person, group_id=group.pk, document_type=document_type, document_id=choice
                )
        except (UploadRejected, apply_actions.AttachRefused) as refused:
            errors[document_type.pk] = [_refusal(refused)]
            if upload is not None:
                failed_uploads.add(document_type.pk)
    return errors, failed_uploads


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET", "POST"])
def fill(request: HttpRequest, group_id: int) -> HttpResponse:
    clerk = staff_user(request)
    group = selectors.counter_draft(clerk=clerk, group_id=group_id)
    if not group.is_draft:
        return redirect("workflows:workbench-counter-done", group_id=group.pk)
    person = group.applicant
    form = apply_selectors.group_form(group)
    typed: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    material_errors: dict[int, list[str]] = {}
    failed_uploads: set[int] = set()
    problems: list[dict[str, str]] = []
    if request.method == "POST":
        try:
            # Answers first: a refused document never costs what was typed on the page.
            values, bases = apply_forms.posted_answers(request.POST, form.fields)
            result = apply_actions.draft_save(applicant=person, group_id=group.pk, values=values, base_values=bases)
            errors = result.errors
            typed = {key: values[key] for key in errors if key in values}
            group.refresh_from_db()
            material_errors, failed_uploads = _materials_save(request, group=group, form=form)
        except apply_actions.DraftAlreadySubmitted:
            return redirect("workflows:workbench-counter-done", group_id=group.pk)
        if not errors and not material_errors and "submit" in request.POST and "confirmed" not in request.POST:
            # Check-your-answers with the person before anything is filed.
            missing = apply_selectors.group_missing(group)
            if missing:
                problems = [{"text": f"{item.label}: {item.reason}", "anchor": item.anchor} for item in missing]
            else:
                return _check_page(request, clerk=clerk, group=group, form=form)
        elif not errors and not material_errors and "submit" in request.POST:
            try:
                counter_filing_allowed(group=group)
                # The person is at the counter with their identity card: an in-person check is `high`.
                apply_actions.group_submit(
                    applicant=person, group_id=group.pk, idempotency_key=f"counter-{group.pk}", assurance=Level.HIGH
                )
            except apply_actions.DraftIncomplete as incomplete:
                problems = [
                    {"text": f"{item.label}: {item.reason}", "anchor": item.anchor} for item in incomplete.missing
                ]
            except apply_actions.ApplyError as refused:
                problems = [{"text": refused.message, "anchor": ""}]
            except IdentityNotChecked as refused:
                logger.info("counter filing refused clerk=%s group=%s reason=no identity check", clerk.pk, group.pk)
                problems = [{"text": refused.message, "anchor": ""}]
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
        "service_names": join_names(
            str(version.service.name)
            for version in apply_selectors.ordered_versions(group.versions.all(), group.life_event)
        ),
        "questions": questions,
        "materials": _material_views(group, form, material_errors, failed_uploads),
        "problems": problems,
        "has_errors": bool(errors or material_errors or problems),
    }
    # The page shows the person's answers and vault documents: that look is theirs to see.
    access.counter_filing_viewed(
        accessor=clerk, group=group, department_id=selectors.counter_department_id(clerk=clerk)
    )
    status = 400 if context["has_errors"] else 200
    return render(request, "workflows/workbench/counter_form.html", context, status=status)


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET"])
def done(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.counter_draft(clerk=staff_user(request), group_id=group_id)
    if group.is_draft:
        return redirect("workflows:workbench-counter-form", group_id=group.pk)
    person = group.applicant
    preference = NotificationPreference.objects.filter(user=person, sms=True).exclude(phone="").first()
    context = {
        "group": group,
        "applications": list(group.applications.select_related("service").order_by("number")),
        "masked_id": selectors.masked_id_number(person.resident_id),
        # A person who has never signed in follows progress on the tracking page (and by SMS).
        "walk_in": person.last_login is None and not person.has_usable_password(),
        "track_url": request.build_absolute_uri(reverse("workflows:track")),
        "sms_to": mask_phone(preference.phone) if preference else "",
    }
    return render(request, "workflows/workbench/counter_done.html", context)


@staff_only(COUNTER_ROLES)
@require_http_methods(["GET", "POST"])
def identity_check(request: HttpRequest) -> HttpResponse:
    """The in-person identity check that lets a self-registered person apply for services whose
    forms ask for their name and resident ID (bound to the verified identity)."""
    form = CounterIdentityCheckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = identity_check_at_counter(
                clerk=staff_user(request),
                identifier=form.cleaned_data["person"],
                full_name=form.cleaned_data["full_name"],
                resident_id=form.cleaned_data["resident_id"],
            )
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("%(name)s's identity is verified. They can now apply online, and you can file for them here.")
                % {"name": person.name},
            )
            return redirect("workflows:workbench-counter")
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/workbench/counter_identity.html", {"form": form}, status=status)
