"""The work item page and what a clerk does on it: reveal, decide, request a correction, note,
transfer, assign, revoke a certificate."""

import logging
from typing import Any

from csp.decorators import csp
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthenticatedRequest
from accounts.selectors import QUEUE_ROLES, SUPERVISOR_ROLES, has_role
from documents.certificates import certificate_revoke
from documents.delivery import file_response
from documents.models import Certificate, Document
from documents.previews import PREVIEW_PAGE_CSP, preview_image_response, preview_page_response
from lib.refusals import Refused
from services.diagram import route_svg
from services.routes import parse_route
from workflows.engine import actions as engine
from workflows.engine.actions import (
    work_item_assign,
)
from workflows.engine.selectors import application_route_state
from workflows.models import TransferRequest, WorkItem
from workflows.workbench import access, selectors
from workflows.workbench.actions import note_add
from workflows.workbench.forms import (
    AssignForm,
    CorrectionForm,
    DecisionForm,
    NoteForm,
    RevokeForm,
    TransferForm,
)
from workflows.workbench.views.staff import _back, _item, staff_only, staff_user

logger = logging.getLogger(__name__)

# --- The work item page -----------------------------------------------------------------------


def _item_page(
    request: HttpRequest,
    item: WorkItem,
    *,
    revealed: frozenset[str] = frozenset(),
    forms: dict[str, Any] | None = None,
    refusal: str = "",
    status: int = 200,
    record_view: bool = False,
) -> HttpResponse:
    """The work item page. `record_view`: this is a look at the application (not the page again
    after a refused action), recorded with what the step was shown."""
    application = item.application
    user = staff_user(request)
    is_supervisor = has_role(user, SUPERVISOR_ROLES, item.department_id)
    needs = selectors.step_needs(item)
    sections = selectors.applicant_sections(application, needs=needs, revealed=revealed)
    documents = selectors.application_documents(application, needs=needs)
    if record_view:
        access.application_viewed(accessor=user, work_item=item, visible=selectors.visible_on_page(sections, documents))
    field_choices, material_choices = selectors.correction_choices(application, needs=needs)
    reason_choices = selectors.rejection_reason_choices(application)
    forms = forms or {}
    route_states = application_route_state(application)
    mine = item.status == WorkItem.Status.CLAIMED and item.assignee_id == user.pk
    transfer_requests = selectors.transfer_requests_of_item(item)
    context = {
        "item": item,
        "application": application,
        "masked_id": selectors.masked_id_number(item.id_number),  # type: ignore[attr-defined]
        "sections": sections,
        "documents": documents,
        "minimised": needs is not None,
        "changes": selectors.correction_changes(application, needs=needs),
        "route": route_svg(
            parse_route(application.service_version.route), {state["key"]: state["status"] for state in route_states}
        ),
        "route_states": route_states,
        "events": selectors.application_events(application),
        "notes": selectors.application_notes(application),
        "certificates": selectors.application_certificates(application),
        "clock": selectors.clock_state(item),
        "mine": mine,
        "may_claim": item.status == WorkItem.Status.OPEN and item.assignee_id is None and not application.is_finished,
        "may_correct": mine and not item.correction,
        "is_supervisor": is_supervisor,
        "may_transfer": (mine or is_supervisor)
        and item.status in (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)
        and not application.is_finished,
        "may_assign": is_supervisor
        and item.status in (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)
        and not application.is_finished,
        "decision_form": forms.get("decision") or DecisionForm(reason_choices=reason_choices),
        "correction_form": forms.get("correction")
        or CorrectionForm(field_choices=field_choices, material_choices=material_choices),
        "note_form": forms.get("note") or NoteForm(),
        "transfer_form": forms.get("transfer")
        or TransferForm(departments=selectors.department_choices_for_transfer(item)),
        "transfer_route_departments": selectors.transfer_route_departments(item),
        "transfer_requests": transfer_requests,
        # A request waits only while its step is open; once the step moves on, it has lapsed.
        "pending_transfer": next((r for r in transfer_requests if r.status == TransferRequest.Status.PENDING), None)
        if item.status in (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED) and not application.is_finished
        else None,
        "assign_form": forms.get("assign")
        or AssignForm(colleagues=selectors.colleagues(department_id=item.department_id)),
        "revoke_form": forms.get("revoke") or RevokeForm(),
        "failed_form": next((form for form in forms.values() if form.errors), None),
        "refusal": refusal,
    }
    return render(request, "workflows/workbench/item.html", context, status=status)


@staff_only(QUEUE_ROLES)
@require_GET
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    return _item_page(request, item, record_view=True)


@staff_only(QUEUE_ROLES)
@require_POST
def reveal(request: AuthenticatedRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    key = request.POST.get("field", "")
    needs = selectors.step_needs(item)
    found = selectors.field_value_for_reveal(item.application, key, needs=needs)
    if found is None:
        raise Http404
    access.field_revealed(accessor=staff_user(request), work_item=item, field_key=key)
    if request.htmx:
        rows = [
            row
            for section in selectors.applicant_sections(item.application, needs=needs, revealed=frozenset([key]))
            for row in section.rows
            if row.key == key
        ]
        return render(request, "workflows/workbench/_field_value.html", {"row": rows[0], "item": item})
    return _item_page(request, item, revealed=frozenset([key]))


def _openable_document(request: HttpRequest, item: WorkItem, document_id: int) -> Document:
    """A document of this application that the step needs and a virus scanner passed; 404
    otherwise (whoever asks, whatever the URL)."""
    attachment = selectors.application_document(item.application, document_id, needs=selectors.step_needs(item))
    if attachment.document.erased_at is not None:
        raise Http404  # removed when the application's retention ended
    if not attachment.document.may_be_opened_by_staff:
        # Not passed by a virus scanner: the page says "not yet checked" and links nothing.
        logger.warning(
            "document %s not served to user %s: scan status %s",
            attachment.document_id,
            request.user.pk,
            attachment.document.scan_status,
        )
        raise Http404
    return attachment.document


@staff_only(QUEUE_ROLES)
@require_GET
def document(request: HttpRequest, item_id: int, document_id: int) -> HttpResponseBase:
    item = _item(request, item_id)
    opened = _openable_document(request, item, document_id)
    access.document_opened(accessor=staff_user(request), work_item=item, document=opened)
    # The rendition rewritten at upload; the original is never served.
    return file_response(opened, inline=True)


@staff_only(QUEUE_ROLES)
@require_GET
@xframe_options_sameorigin
@csp(PREVIEW_PAGE_CSP)  # type: ignore[arg-type]  # django-csp types views as taking only the request
def document_preview(request: HttpRequest, item_id: int, document_id: int) -> HttpResponse:
    """The page of the sandboxed frame on the work item page: the first page as one image."""
    item = _item(request, item_id)
    shown = _openable_document(request, item, document_id)
    image_url = reverse("workflows:workbench-document-preview-image", args=[item.pk, shown.pk])
    alt = _("First page of %(name)s") % {"name": shown.display_name}
    return preview_page_response(shown, image_url=image_url, alt=alt)


@staff_only(QUEUE_ROLES)
@require_GET
def document_preview_image(request: HttpRequest, item_id: int, document_id: int) -> HttpResponse:
    item = _item(request, item_id)
    shown = _openable_document(request, item, document_id)
    response = preview_image_response(shown)
    # Seeing the first page is a look at the document: recorded like opening it.
    access.document_opened(accessor=staff_user(request), work_item=item, document=shown)
    return response


def _refused(request: HttpRequest, item_id: int, message: str, forms: dict[str, Any] | None = None) -> HttpResponse:
    return _item_page(request, _item(request, item_id), forms=forms, refusal=message, status=409)


@staff_only(QUEUE_ROLES)
@require_POST
def decide(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = DecisionForm(request.POST, reason_choices=selectors.rejection_reason_choices(item.application))
    if not form.is_valid():
        return _item_page(request, item, forms={"decision": form}, status=400)
    try:
        engine.work_item_decide(
            work_item_id=item.pk,
            actor=staff_user(request),
            decision=form.cleaned_data["decision"],
            reasons=form.reason_texts(),
            note=form.cleaned_data["note"],
        )
    except Refused as refused:
        return _refused(request, item.pk, refused.message, {"decision": form})
    if form.cleaned_data["decision"] == WorkItem.Decision.APPROVED:
        messages.success(request, _("You approved %(number)s.") % {"number": item.application.number})
    else:
        messages.success(request, _("You rejected %(number)s.") % {"number": item.application.number})
    return redirect("workflows:workbench-item", item_id=item.pk)


@staff_only(QUEUE_ROLES)
@require_POST
def correction(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    field_choices, material_choices = selectors.correction_choices(item.application, needs=selectors.step_needs(item))
    form = CorrectionForm(request.POST, field_choices=field_choices, material_choices=material_choices)
    if not form.is_valid():
        return _item_page(request, item, forms={"correction": form}, status=400)
    try:
        engine.correction_request(
            work_item_id=item.pk,
            actor=staff_user(request),
            fields=form.cleaned_data["fields_to_correct"],
            materials=form.cleaned_data["materials"],
            message=form.cleaned_data["message"],
        )
    except Refused as refused:
        return _refused(request, item.pk, refused.message, {"correction": form})
    messages.success(
        request,
        _("The applicant has been asked to correct %(number)s. The statutory clock is stopped until they answer.")
        % {"number": item.application.number},
    )
    return redirect("workflows:workbench-item", item_id=item.pk)


@staff_only(QUEUE_ROLES)
@require_POST
def note(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _item_page(request, item, forms={"note": form}, status=400)
    note_add(work_item=item, author=staff_user(request), text=form.cleaned_data["text"])
    messages.success(request, _("Your note has been added."))
    return redirect(reverse("workflows:workbench-item", args=[item.pk]) + "#notes")


@staff_only(QUEUE_ROLES)
@require_POST
def transfer(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = TransferForm(request.POST, departments=selectors.department_choices_for_transfer(item))
    if not form.is_valid():
        return _item_page(request, item, forms={"transfer": form}, status=400)
    try:
        outcome = engine.work_item_transfer(
            work_item_id=item.pk,
            actor=staff_user(request),
            department=form.cleaned_data["department"],
            reason=form.cleaned_data["reason"],
        )
    except Refused as refused:
        return _refused(request, item.pk, refused.message, {"transfer": form})
    names = {"number": item.application.number, "department": form.cleaned_data["department"].name}
    if isinstance(outcome, TransferRequest):
        messages.success(
            request,
            _(
                "The route does not send this step to %(department)s, so a supervisor must approve the transfer. "
                "Your request is with them; %(number)s stays with you meanwhile."
            )
            % names,
        )
        return redirect("workflows:workbench-item", item_id=item.pk)
    messages.success(request, _("%(number)s has been transferred to %(department)s.") % names)
    return redirect("workflows:workbench")


@staff_only(SUPERVISOR_ROLES)
@require_POST
def assign(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    form = AssignForm(request.POST, colleagues=selectors.colleagues(department_id=item.department_id))
    if not form.is_valid():
        return _item_page(request, item, forms={"assign": form}, status=400)
    try:
        work_item_assign(
            work_item_id=item.pk,
            supervisor=staff_user(request),
            assignee=form.cleaned_data["assignee"],
        )
    except Refused as refused:
        return _refused(request, item.pk, refused.message, {"assign": form})
    messages.success(
        request,
        _("%(number)s is now with %(name)s.")
        % {"number": item.application.number, "name": form.cleaned_data["assignee"].name},
    )
    return redirect(_back(request, reverse("workflows:workbench-item", args=[item.pk])))


@staff_only(QUEUE_ROLES)
@require_POST
def revoke(request: HttpRequest, item_id: int, certificate_id: int) -> HttpResponse:
    item = _item(request, item_id)
    certificate = Certificate.objects.filter(pk=certificate_id, application_number=item.application.number).first()
    if certificate is None:
        raise Http404
    form = RevokeForm(request.POST)
    if not form.is_valid():
        return _item_page(request, item, forms={"revoke": form}, status=400)
    try:
        certificate_revoke(certificate=certificate, actor=staff_user(request), reason=form.cleaned_data["reason"])
    except ValidationError as refused:
        return _refused(request, item.pk, refused.messages[0], {"revoke": form})
    messages.success(request, _("The certificate has been revoked; the verification page now says so."))
    return redirect("workflows:workbench-item", item_id=item.pk)
