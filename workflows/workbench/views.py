"""The department workbench pages: queue, work item, decisions, supervisor pages.

Thin: parse, call one selector or action (the engine's for transitions), render. Anyone who is
not staff of a department gets 404 on every URL here; a clerk gets 404 for another
department's work.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.selectors import QUEUE_ROLES, STAFF_ROLES, SUPERVISOR_ROLES, has_role
from documents.certificates import certificate_revoke
from documents.delivery import file_response
from documents.models import Certificate
from lib.refusals import Refused
from services.diagram import route_svg
from services.routes import parse_route
from workflows.engine import actions as engine
from workflows.engine.actions import (
    work_item_assign,
    work_item_claim,
    work_item_release,
    work_items_assign,
    work_items_claim,
)
from workflows.engine.selectors import application_route_state
from workflows.models import Incident, TransferRequest, WorkItem
from workflows.workbench import access, selectors
from workflows.workbench.actions import note_add
from workflows.workbench.forms import (
    AssignForm,
    CorrectionForm,
    DecisionForm,
    IncidentForm,
    NoteForm,
    QueueFilterForm,
    RevokeForm,
    TransferForm,
)
from workflows.workbench.selectors import Tab


def staff_only(roles: tuple[str, ...] = STAFF_ROLES) -> Callable:
    """Signed in (else the login page) and holding one of `roles` somewhere (else 404)."""

    def decorate(view: Callable) -> Callable:
        @login_required
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(_staff(request), roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _staff(request: HttpRequest) -> User:
    return cast(User, request.user)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _item(request: HttpRequest, item_id: int) -> WorkItem:
    return selectors.work_item_for_clerk(clerk=_staff(request), work_item_id=item_id)


# --- The queue --------------------------------------------------------------------------------


@staff_only(QUEUE_ROLES)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    services = selectors.queue_services()
    form = QueueFilterForm(request.GET or None, services=services)
    filters = form.filters() if form.is_bound else selectors.QueueFilters()
    tab = request.GET.get("tab", Tab.UNCLAIMED)
    # The clerk's departments and roles, once per request (the queue and the supervisor's tools).
    scope = selectors.queue_scope(user=_staff(request))
    try:
        page = selectors.work_items_for_clerk(
            clerk=_staff(request),
            tab=tab,
            filters=filters,
            after=request.GET.get("after") or None,
            scope=scope,
        )
    except selectors.BadCursor:
        page = selectors.work_items_for_clerk(clerk=_staff(request), tab=tab, filters=filters, scope=scope)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("tab", None)
    is_supervisor = scope.is_supervisor
    context = {
        "form": form,
        "page": page,
        "tabs": [(key, Tab.LABELS[key], page.counts[key]) for key in Tab.ALL],
        "filter_query": query.urlencode(),
        "is_supervisor": is_supervisor,
        "colleagues": _supervised_colleagues(request) if is_supervisor else [],
        "next_url": request.get_full_path(),
    }
    return render(request, "workflows/workbench/queue.html", context, status=400 if form.errors else 200)


def _supervised_colleagues(request: HttpRequest) -> list:
    departments = selectors.departments_for(user=_staff(request), roles=SUPERVISOR_ROLES)
    people: dict[int, Any] = {}
    for department in departments:
        for person in selectors.colleagues(department_id=department.pk):
            people.setdefault(person.pk, person)
    return list(people.values())


def _row_response(request: HttpRequest, item_id: int, message: str, *, ok: bool) -> HttpResponse:
    item = _item(request, item_id)
    item.masked_id = selectors.masked_id_number(item.id_number)  # type: ignore[attr-defined]
    context = {"item": item, "row_message": message, "row_ok": ok, "next_url": _back(request, "")}
    return render(request, "workflows/workbench/_queue_row.html", context)


@staff_only(QUEUE_ROLES)
@require_POST
def claim(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    try:
        work_item_claim(work_item_id=item.pk, clerk=_staff(request))
    except Refused as refused:
        message, ok = refused.message, False
    else:
        message, ok = _("You have claimed %(number)s.") % {"number": item.application.number}, True
    if request.htmx:  # type: ignore[attr-defined]
        return _row_response(request, item.pk, message, ok=ok)
    (messages.success if ok else messages.error)(request, message)
    if ok:
        return redirect("workflows:workbench-item", item_id=item.pk)
    return redirect(_back(request, reverse("workflows:workbench")))


@staff_only(QUEUE_ROLES)
@require_POST
def release(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    try:
        work_item_release(work_item_id=item.pk, clerk=_staff(request))
    except Refused as refused:
        message, ok = refused.message, False
    else:
        message, ok = _("%(number)s is back in the unclaimed queue.") % {"number": item.application.number}, True
    if request.htmx:  # type: ignore[attr-defined]
        return _row_response(request, item.pk, message, ok=ok)
    (messages.success if ok else messages.error)(request, message)
    return redirect(_back(request, reverse("workflows:workbench-item", args=[item.pk])))


@staff_only(QUEUE_ROLES)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Bulk claim (any clerk) or bulk assign (supervisors) of the ticked rows."""
    back = _back(request, reverse("workflows:workbench"))
    try:
        ids = [int(value) for value in request.POST.getlist("items")]
    except ValueError:
        ids = []
    if not ids:
        messages.error(request, _("Tick at least one application first."))
        return redirect(back)
    # Only ids of the clerk's own departments are acted on; others are silently not there.
    ids = list(selectors.work_items_in_scope(clerk=_staff(request)).filter(pk__in=ids).values_list("pk", flat=True))
    if request.POST.get("action") == "assign":
        colleagues = {str(person.pk): person for person in _supervised_colleagues(request)}
        assignee = colleagues.get(request.POST.get("assignee", ""))
        if not has_role(_staff(request), SUPERVISOR_ROLES) or assignee is None:
            messages.error(request, _("Choose a colleague to assign the ticked applications to."))
            return redirect(back)
        result = work_items_assign(work_item_ids=ids, supervisor=_staff(request), assignee=assignee)
        done = _("%(count)d assigned to %(name)s.") % {"count": len(result.done), "name": assignee.name}
    else:
        result = work_items_claim(work_item_ids=ids, clerk=_staff(request))
        done = _("You have claimed %(count)d.") % {"count": len(result.done)}
    if result.done:
        messages.success(request, done)
    if result.refused:
        messages.error(
            request,
            _("%(count)d could not be taken: %(why)s")
            % {"count": len(result.refused), "why": " ".join(sorted(set(result.refused.values())))},
        )
    return redirect(back)


# --- The work item page -----------------------------------------------------------------------


def _item_page(
    request: HttpRequest,
    item: WorkItem,
    *,
    revealed: frozenset[str] = frozenset(),
    forms: dict[str, Any] | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    application = item.application
    user = _staff(request)
    is_supervisor = has_role(user, SUPERVISOR_ROLES, item.department_id)
    field_choices, material_choices = selectors.correction_choices(application)
    reason_choices = selectors.rejection_reason_choices(application)
    forms = forms or {}
    route_states = application_route_state(application)
    mine = item.status == WorkItem.Status.CLAIMED and item.assignee_id == user.pk
    transfer_requests = selectors.transfer_requests_of_item(item)
    context = {
        "item": item,
        "application": application,
        "masked_id": selectors.masked_id_number(item.id_number),  # type: ignore[attr-defined]
        "sections": selectors.applicant_sections(application, revealed=revealed),
        "documents": selectors.application_documents(application),
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
    access.application_viewed(accessor=_staff(request), work_item=item)
    return _item_page(request, item)


@staff_only(QUEUE_ROLES)
@require_POST
def reveal(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    key = request.POST.get("field", "")
    found = selectors.field_value_for_reveal(item.application, key)
    if found is None:
        raise Http404
    access.field_revealed(accessor=_staff(request), work_item=item, field_key=key)
    if request.htmx:  # type: ignore[attr-defined]
        rows = [
            row
            for section in selectors.applicant_sections(item.application, revealed=frozenset([key]))
            for row in section.rows
            if row.key == key
        ]
        return render(request, "workflows/workbench/_field_value.html", {"row": rows[0], "item": item})
    return _item_page(request, item, revealed=frozenset([key]))


@staff_only(QUEUE_ROLES)
@require_GET
def document(request: HttpRequest, item_id: int, document_id: int) -> HttpResponseBase:
    item = _item(request, item_id)
    attachment = selectors.application_document(item.application, document_id)
    access.document_opened(accessor=_staff(request), work_item=item, document=attachment.document)
    return file_response(attachment.document, inline=True)


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
            actor=_staff(request),
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
    field_choices, material_choices = selectors.correction_choices(item.application)
    form = CorrectionForm(request.POST, field_choices=field_choices, material_choices=material_choices)
    if not form.is_valid():
        return _item_page(request, item, forms={"correction": form}, status=400)
    try:
        engine.correction_request(
            work_item_id=item.pk,
            actor=_staff(request),
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
    note_add(work_item=item, author=_staff(request), text=form.cleaned_data["text"])
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
            actor=_staff(request),
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
            supervisor=_staff(request),
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
        certificate_revoke(certificate=certificate, actor=_staff(request), reason=form.cleaned_data["reason"])
    except ValidationError as refused:
        return _refused(request, item.pk, refused.messages[0], {"revoke": form})
    messages.success(request, _("The certificate has been revoked; the verification page now says so."))
    return redirect("workflows:workbench-item", item_id=item.pk)


# --- Supervisors ------------------------------------------------------------------------------


@staff_only(SUPERVISOR_ROLES)
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    context = {
        "transfer_requests": list(selectors.transfer_requests_for_supervisor(supervisor=_staff(request))),
        "incidents": list(selectors.incidents_for_supervisor(supervisor=_staff(request))),
        "overdue": selectors.department_overdue(supervisor=_staff(request)),
        "colleagues": _supervised_colleagues(request),
        "next_url": request.get_full_path(),
    }
    return render(request, "workflows/workbench/supervision.html", context)


INCIDENT_ACTIONS = {
    "retry": (engine.incident_retry, gettext_lazy("The step will run again.")),
    "skip": (engine.incident_skip, gettext_lazy("The step has been skipped; the route goes on.")),
    "cancel": (engine.incident_cancel, gettext_lazy("The step has been cancelled and the application rejected.")),
}


@staff_only(SUPERVISOR_ROLES)
@require_POST
def incident(request: HttpRequest, incident_id: int, verb: str) -> HttpResponse:
    found: Incident = selectors.incident_for_supervisor(supervisor=_staff(request), incident_id=incident_id)
    if verb not in INCIDENT_ACTIONS:
        raise Http404
    action, done = INCIDENT_ACTIONS[verb]
    form = IncidentForm(request.POST)
    note_text = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        action(incident_id=found.pk, actor=_staff(request), note=note_text)
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{found.work_item.application.number}: {done}")
    return redirect("workflows:workbench-supervision")


TRANSFER_DECISIONS: dict[str, Any] = {
    TransferRequest.Status.APPROVED: gettext_lazy("%(number)s has been transferred to %(department)s."),
    TransferRequest.Status.DECLINED: gettext_lazy("The transfer of %(number)s is declined; the clerk carries on."),
    TransferRequest.Status.LAPSED: gettext_lazy(
        "%(number)s has moved on since the request was made (decided, corrected or transferred): the request lapsed."
    ),
}


@staff_only(SUPERVISOR_ROLES)
@require_POST
def transfer_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    found = selectors.transfer_request_for_supervisor(supervisor=_staff(request), request_id=request_id)
    verb = request.POST.get("decision", "")
    if verb not in ("approve", "decline"):
        messages.error(request, _("Choose whether to approve or decline the transfer."))
        return redirect(_back(request, reverse("workflows:workbench-supervision") + "#transfers"))
    form = IncidentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors["note"]))
        return redirect(_back(request, reverse("workflows:workbench-supervision") + "#transfers"))
    try:
        decided = engine.transfer_request_decide(
            request_id=found.pk, actor=_staff(request), approve=verb == "approve", note=form.cleaned_data["note"]
        )
    except Refused as refused:
        messages.error(request, f"{found.work_item.application.number}: {refused.message}")
    else:
        names = {"number": found.work_item.application.number, "department": found.to_department.name}
        messages.success(request, TRANSFER_DECISIONS[decided.status] % names)
    return redirect(_back(request, reverse("workflows:workbench-supervision") + "#transfers"))
