"""Reads of the engine's state for the citizen's and the clerk's pages."""

from collections.abc import Container, Sequence
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from services.routes import RouteStep, parse_route, topological_order
from workflows import clock
from workflows.engine import routing
from workflows.models import Application, Mandate, WorkItem

PENDING = "pending"
# A step not started because it waits for a sibling application of its bundle (`waits_for`).
BUNDLE_WAITING = "bundle_waiting"


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


def bundle_waits(
    application: Application, steps: Sequence[RouteStep], started: Container[str]
) -> dict[str, list[Application]]:
    """Step key → the applications of the same bundle that the step is waiting for, for each step
    not started (`started`: the keys of steps with a work item) that waits for a sibling's
    approval and its data (`waits_for`). Without it such a step reads "not started", and only the
    timeline says why. No query unless the application is still waiting for a sibling."""
    if not application.waiting_for or application.is_finished:
        return {}
    codes = set(application.waiting_for)
    waiting = [step for step in steps if step.key not in started and codes.intersection(step.waits_for)]
    if not waiting:
        return {}
    siblings = list(
        Application.objects.filter(group_id=application.group_id, service__code__in=codes)
        .exclude(pk=application.pk)
        .select_related("service")
        .order_by("number")
    )
    return {step.key: [s for s in siblings if s.service.code in step.waits_for] for step in waiting}


def bundle_wait_for_staff(siblings: Sequence[Application]) -> str:
    """What a clerk reads next to a step waiting for a sibling application."""
    return " ".join(
        _(
            "Waiting for the applicant's application “%(service)s” (number %(number)s) to be approved; "
            "this step then receives the data it produces."
        )
        % {"service": sibling.service.name, "number": sibling.number}
        for sibling in siblings
    )


def application_route_state(application: Application) -> list[dict[str, Any]]:
    """Every step of the application's route (its pinned version) with its current state.

    One dict per step, in route order: key, label, department (code), department_name, kind,
    status (a WorkItem status, or "pending" when the step has not started), status_label (what
    to show: a failed step reads "Delayed — being handled"), round, assignee (a User or None),
    decision, statutory_due_at, working_days_left (negative when overdue; counted to the
    moment the clock stopped while it is stopped), clock_stopped, clock_stopped_at,
    escalated, conditional, waiting_for (what a step waiting for a sibling application of the
    bundle waits for, in words; "" otherwise).
    """
    steps = topological_order(parse_route(application.service_version.route))
    items: dict[str, WorkItem] = {}
    for row in (
        WorkItem.objects.filter(application=application).select_related("department", "assignee").order_by("round")
    ):
        items[row.step_key] = row
    departments = {d.code: d for d in Department.objects.filter(code__in={step.department for step in steps})}
    waits = bundle_waits(application, steps, items)
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
            "waiting_for": "",
        }
        if step.key in waits:
            state["status"] = BUNDLE_WAITING
            state["status_label"] = _("Waiting for another application")
            state["waiting_for"] = bundle_wait_for_staff(waits[step.key])
        if application.is_finished and item is None:
            state["status_label"] = _("Not needed")
        states.append(state)
    return states
