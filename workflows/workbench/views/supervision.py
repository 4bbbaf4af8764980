"""The supervision page: overdue work, incidents and transfer requests."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import SUPERVISOR_ROLES
from lib.refusals import Refused
from workflows.engine import actions as engine
from workflows.models import Incident, TransferRequest
from workflows.workbench import selectors
from workflows.workbench.forms import (
    IncidentForm,
)
from workflows.workbench.views.queue import _supervised_colleagues
from workflows.workbench.views.staff import _back, staff_only, staff_user

# --- Supervisors ------------------------------------------------------------------------------


@staff_only(SUPERVISOR_ROLES)
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    context = {
        "transfer_requests": list(selectors.transfer_requests_for_supervisor(supervisor=staff_user(request))),
        "incidents": list(selectors.incidents_for_supervisor(supervisor=staff_user(request))),
        "overdue": selectors.department_overdue(supervisor=staff_user(request)),
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
    found: Incident = selectors.incident_for_supervisor(supervisor=staff_user(request), incident_id=incident_id)
    if verb not in INCIDENT_ACTIONS:
        raise Http404
    action, done = INCIDENT_ACTIONS[verb]
    form = IncidentForm(request.POST)
    note_text = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        action(incident_id=found.pk, actor=staff_user(request), note=note_text)
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
    found = selectors.transfer_request_for_supervisor(supervisor=staff_user(request), request_id=request_id)
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
            request_id=found.pk, actor=staff_user(request), approve=verb == "approve", note=form.cleaned_data["note"]
        )
    except Refused as refused:
        messages.error(request, f"{found.work_item.application.number}: {refused.message}")
    else:
        names = {"number": found.work_item.application.number, "department": found.to_department.name}
        messages.success(request, TRANSFER_DECISIONS[decided.status] % names)
    return redirect(_back(request, reverse("workflows:workbench-supervision") + "#transfers"))
