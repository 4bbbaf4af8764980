"""Reads of the engine's state for the citizen's and the clerk's pages."""

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from services.routes import parse_route, topological_order
from workflows import clock
from workflows.engine import routing
from workflows.models import Application, Mandate, WorkItem

PENDING = "pending"


def followed_by(user: User) -> Q:
    """The applications a person follows: their own, those made for an organisation they
    represent (every representative follows its applications), and those of a person who gave
    them an active mandate covering the application's service."""
    return Q(applicant=user) | Q(group__organisation__in=user.organisations.values("pk")) | Q(delegated_to(user))


def delegated_to(user: User, *, may_submit: bool = False) -> Exists:
    """Applications whose applicant gave `user` an active mandate covering their service
    (`may_submit`: one that lets them submit, answer corrections and withdraw)."""
    mandates = Mandate.objects.active().filter(delegate_id=user.pk, principal=OuterRef("applicant"))
    if may_submit:
        mandates = mandates.filter(may_submit=True)
    return Exists(mandates.covering(OuterRef(OuterRef("service"))))


def application_route_state(application: Application) -> list[dict[str, Any]]:
    """Every step of the application's route (its pinned version) with its current state.

    One dict per step, in route order: key, label, department (code), department_name, kind,
    status (a WorkItem status, or "pending" when the step has not started), status_label (what
    to show: a failed step reads "Delayed — being handled"), round, assignee (a User or None),
    decision, statutory_due_at, working_days_left (negative when overdue; counted to the
    moment the clock stopped while it is stopped), clock_stopped, clock_stopped_at,
    escalated, conditional.
    """
    steps = topological_order(parse_route(application.service_version.route))
    items: dict[str, WorkItem] = {}
    for row in (
        WorkItem.objects.filter(application=application).select_related("department", "assignee").order_by("round")
    ):
        items[row.step_key] = row
    departments = {d.code: d for d in Department.objects.filter(code__in={step.department for step in steps})}
    now = timezone.now()
    states: list[dict[str, Any]] = []
    for step in steps:
        item = items.get(step.key)
        department = item.department if item else departments.get(step.department)
        live = item is not None and item.status in WorkItem.LIVE
        state: dict[str, Any] = {
            "key": step.key,
            "label": routing.step_label(step, department, item),
            "department": department.code if department else step.department,
            "department_name": department.name if department else step.department,
            "kind": step.kind,
            "status": item.status if item else PENDING,
            "status_label": item.get_status_display() if item else _("Not started yet"),
            "round": item.round if item else None,
            "assignee": item.assignee if item else None,
            "decision": item.decision if item else "",
            "statutory_due_at": item.statutory_due_at if item else None,
            "working_days_left": (
                clock.working_days_left(item.statutory_due_at, now=now, stopped_at=item.clock_stopped_at)
                if live and item is not None
                else None
            ),
            "clock_stopped": bool(item and item.clock_stopped_at),
            "clock_stopped_at": item.clock_stopped_at if item else None,
            "escalated": bool(item and item.escalated_at),
            "conditional": step.is_conditional,
        }
        if application.is_finished and item is None:
            state["status_label"] = _("Not needed")
        states.append(state)
    return states
