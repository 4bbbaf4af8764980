"""The queue page, and claiming, releasing and bulk actions from it (live with htmx)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthenticatedRequest
from accounts.selectors import QUEUE_ROLES, SUPERVISOR_ROLES, has_role
from lib.refusals import Refused
from workflows.engine.actions import (
    work_item_claim,
    work_item_release,
    work_items_assign,
    work_items_claim,
)
from workflows.workbench import access, selectors
from workflows.workbench.forms import (
    QueueFilterForm,
)
from workflows.workbench.selectors import Tab
from workflows.workbench.views.rows import queue_rows
from workflows.workbench.views.staff import _back, _item, staff_only, staff_user

# --- The queue --------------------------------------------------------------------------------


@staff_only(QUEUE_ROLES)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    services = selectors.queue_services()
    form = QueueFilterForm(request.GET or None, services=services)
    filters = form.filters() if form.is_bound else selectors.QueueFilters()
    tab = request.GET.get("tab", Tab.UNCLAIMED)
    # The clerk's departments and roles, once per request (the queue and the supervisor's tools).
    scope = selectors.queue_scope(user=staff_user(request))
    try:
        page = selectors.work_items_for_clerk(
            clerk=staff_user(request),
            tab=tab,
            filters=filters,
            after=request.GET.get("after") or None,
            scope=scope,
        )
    except selectors.BadCursor:
        page = selectors.work_items_for_clerk(clerk=staff_user(request), tab=tab, filters=filters, scope=scope)
    # Every applicant whose name this page shows is told in their access log.
    access.queue_listed(accessor=staff_user(request), items=page.items)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("tab", None)
    is_supervisor = scope.is_supervisor
    next_url = request.get_full_path()
    context = {
        "form": form,
        "page": page,
        "tabs": _tabs(page),
        "counts_capped": any(page.more.values()),
        "count_cap": number_format(selectors.COUNT_CAP, force_grouping=True),
        "filter_query": query.urlencode(),
        "is_supervisor": is_supervisor,
        "colleagues": _supervised_colleagues(request) if is_supervisor else [],
        "next_url": next_url,
        "rows": queue_rows(request, page.items, next_url=next_url),
    }
    return render(request, "workflows/workbench/queue.html", context, status=400 if form.errors else 200)


def _tabs(page: selectors.QueuePage) -> list[tuple[str, str, str, str]]:
    """Each tab's key, label, count as shown ("12", "1,000+") and, for a count that stopped at
    the cap, what a screen reader says instead ("more than 1,000")."""
    cap = number_format(selectors.COUNT_CAP, force_grouping=True)
    tabs = []
    for key in Tab.ALL:
        if page.more.get(key):
            shown, spoken = _("%(count)s+") % {"count": cap}, _("more than %(count)s") % {"count": cap}
        else:
            shown, spoken = str(page.counts[key]), ""
        tabs.append((key, str(Tab.LABELS[key]), shown, spoken))
    return tabs


def _supervised_colleagues(request: HttpRequest) -> list:
    departments = selectors.departments_for(user=staff_user(request), roles=SUPERVISOR_ROLES)
    people: dict[int, Any] = {}
    for department in departments:
        for person in selectors.colleagues(department_id=department.pk):
            people.setdefault(person.pk, person)
    return list(people.values())


def _row_response(request: HttpRequest, item_id: int, message: str, *, ok: bool) -> HttpResponse:
    item = _item(request, item_id)
    selectors.decorate_rows([item])
    return HttpResponse(queue_rows(request, [item], next_url=_back(request, ""), message=message, ok=ok))


@staff_only(QUEUE_ROLES)
@require_POST
def claim(request: AuthenticatedRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    try:
        work_item_claim(work_item_id=item.pk, clerk=staff_user(request))
    except Refused as refused:
        message, ok = refused.message, False
    else:
        message, ok = _("You have claimed %(number)s.") % {"number": item.application.number}, True
    if request.htmx:
        return _row_response(request, item.pk, message, ok=ok)
    (messages.success if ok else messages.error)(request, message)
    if ok:
        return redirect("workflows:workbench-item", item_id=item.pk)
    return redirect(_back(request, reverse("workflows:workbench")))


@staff_only(QUEUE_ROLES)
@require_POST
def release(request: AuthenticatedRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    try:
        work_item_release(work_item_id=item.pk, clerk=staff_user(request))
    except Refused as refused:
        message, ok = refused.message, False
    else:
        message, ok = _("%(number)s is back in the unclaimed queue.") % {"number": item.application.number}, True
    if request.htmx:
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
    ids = list(selectors.work_items_in_scope(clerk=staff_user(request)).filter(pk__in=ids).values_list("pk", flat=True))
    if request.POST.get("action") == "assign":
        colleagues = {str(person.pk): person for person in _supervised_colleagues(request)}
        assignee = colleagues.get(request.POST.get("assignee", ""))
        if not has_role(staff_user(request), SUPERVISOR_ROLES) or assignee is None:
            messages.error(request, _("Choose a colleague to assign the ticked applications to."))
            return redirect(back)
        result = work_items_assign(work_item_ids=ids, supervisor=staff_user(request), assignee=assignee)
        done = _("%(count)d assigned to %(name)s.") % {"count": len(result.done), "name": assignee.name}
    else:
        result = work_items_claim(work_item_ids=ids, clerk=staff_user(request))
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
