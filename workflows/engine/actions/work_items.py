"""What clerks and supervisors do to a step: claim, release, assign (one at a time or several), decide.

The engine is the only writer of work items. Claims are conditional updates (DESIGN §5.4):
`UPDATE … WHERE id = … AND status = 'open' AND assignee IS NULL`. When two clerks click at once
exactly one row changes; the other clerk is told who has it. Each write takes the application's
row lock first (application, then work item), so the event it writes follows the application's;
a claim does both in one statement (guards.item_update_with_locked_application).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import QUEUE_ROLES, SUPERVISOR_ROLES, department_ids, has_role
from lib.refusals import Refused
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.events import event_record, events_together
from workflows.engine.guards import (
    item_update_with_locked_application,
    lock_application_of_item,
    locked_items,
    refuse_if_finished,
    refuse_unless_assignee,
)
from workflows.models import Application, ApplicationEvent, WorkItem


@dataclass
class BulkResult:
    done: list[WorkItem] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _reload(work_item_id: int, application: Application) -> WorkItem:
    item = WorkItem.objects.select_related("department", "assignee").get(pk=work_item_id)
    item.application = application
    return item


def work_item_claim(*, work_item_id: int, clerk: User) -> WorkItem:
    """The clerk takes an open review step of one of their departments.

    One statement on PostgreSQL: the application's lock and the conditional update together
    (`item_update_with_locked_application`), then the event. Raises TransitionRefused("already
    taken by <name>") when another clerk won.
    """
    with transaction.atomic():
        now = timezone.now()
        application, item = item_update_with_locked_application(
            work_item_id,
            where=Q(
                status=WorkItem.Status.OPEN,
                assignee__isnull=True,
                kind=WorkItem.Kind.REVIEW,
                department_id__in=department_ids(user=clerk, roles=QUEUE_ROLES),
            ),
            values={"status": WorkItem.Status.CLAIMED, "assignee": clerk, "claimed_at": now, "updated_at": now},
        )
        refuse_if_finished(application)
        if item is None:
            # Only the losing path reads more, to say exactly why: the row as it is now, read
            # after the lock (the one statement saw it as of its start).
            item = _reload(work_item_id, application)
            if item.assignee_id == clerk.pk:
                raise TransitionRefused(_("You have already claimed this step."))
            if not has_role(clerk, QUEUE_ROLES, item.department_id):
                raise TransitionRefused(_("This step belongs to another department."))
            if item.kind != WorkItem.Kind.REVIEW:
                raise TransitionRefused(_("This step is done automatically; it cannot be claimed."))
            if item.assignee is not None:
                raise TransitionRefused(_("Already taken by %(name)s.") % {"name": item.assignee.name})
            raise TransitionRefused(_("This step is no longer open, so it cannot be claimed."))
        item.assignee = clerk  # who claimed it, without reading the row again
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.STEP_CLAIMED,
            from_status=WorkItem.Status.OPEN,
            to_status=WorkItem.Status.CLAIMED,
            actor=clerk,
        )
        return item


def work_item_release(*, work_item_id: int, clerk: User) -> WorkItem:
    """The assignee puts their claimed step back in the unclaimed queue."""
    with transaction.atomic():
        application = lock_application_of_item(work_item_id)
        refuse_if_finished(application)
        changed = WorkItem.objects.filter(pk=work_item_id, status=WorkItem.Status.CLAIMED, assignee_id=clerk.pk).update(
            status=WorkItem.Status.OPEN, assignee=None, claimed_at=None, updated_at=timezone.now()
        )
        item = _reload(work_item_id, application)
        if changed != 1:
            raise TransitionRefused(_("Only the clerk who has claimed this step can put it back."))
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.STEP_RELEASED,
            from_status=WorkItem.Status.CLAIMED,
            to_status=WorkItem.Status.OPEN,
            actor=clerk,
        )
        return item


def work_item_assign(*, work_item_id: int, supervisor: User, assignee: User, reason: str = "") -> WorkItem:
    """A supervisor gives an open or claimed step to a clerk of its department (assign or
    reassign). The assignee must hold a queue role in that department."""
    with transaction.atomic():
        application = lock_application_of_item(work_item_id)
        refuse_if_finished(application)
        department_id = WorkItem.objects.filter(pk=work_item_id).values_list("department_id", flat=True).get()
        if not has_role(supervisor, SUPERVISOR_ROLES, department_id):
            raise TransitionRefused(_("Only a supervisor of the department can assign its work."))
        if not has_role(assignee, QUEUE_ROLES, department_id):
            raise TransitionRefused(_("%(name)s does not work in this department's queue.") % {"name": assignee.name})
        before = WorkItem.objects.filter(pk=work_item_id).values("status", "assignee_id").get()
        now = timezone.now()
        changed = (
            WorkItem.objects.filter(
                Q(status=WorkItem.Status.OPEN) | Q(status=WorkItem.Status.CLAIMED),
                pk=work_item_id,
                kind=WorkItem.Kind.REVIEW,
            )
            .exclude(assignee_id=assignee.pk)
            .update(status=WorkItem.Status.CLAIMED, assignee=assignee, claimed_at=now, updated_at=now)
        )
        item = _reload(work_item_id, application)
        if changed != 1:
            if item.assignee_id == assignee.pk:
                raise TransitionRefused(_("%(name)s already has this step.") % {"name": assignee.name})
            raise TransitionRefused(_("Only an open or claimed review step can be assigned."))
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.STEP_REASSIGNED
            if before["assignee_id"]
            else ApplicationEvent.Kind.STEP_ASSIGNED,
            from_status=before["status"],
            to_status=WorkItem.Status.CLAIMED,
            actor=supervisor,
            reason=reason,
            payload={"assignee": assignee.pk, "previous_assignee": before["assignee_id"]},
        )
        return item


def work_items_claim(*, work_item_ids: Iterable[int], clerk: User) -> BulkResult:
    """Claims several steps; each is its own claim (one lost race does not undo the others)."""
    result = BulkResult()
    for work_item_id in dict.fromkeys(work_item_ids):
        try:
            result.done.append(work_item_claim(work_item_id=work_item_id, clerk=clerk))
        except Refused as refused:
            result.refused[work_item_id] = refused.message
    return result


def work_items_assign(*, work_item_ids: Iterable[int], supervisor: User, assignee: User) -> BulkResult:
    result = BulkResult()
    for work_item_id in dict.fromkeys(work_item_ids):
        try:
            result.done.append(work_item_assign(work_item_id=work_item_id, supervisor=supervisor, assignee=assignee))
        except Refused as refused:
            result.refused[work_item_id] = refused.message
    return result


def work_item_decide(
    *, work_item_id: int, actor: User, decision: str, reasons: list[str] | None = None, note: str = ""
) -> WorkItem:
    """The assignee approves or rejects their step; the route moves on in the same transaction.

    The application's lock and the decision's conditional update are one statement on PostgreSQL
    (`item_update_with_locked_application`); the application's current work items are read
    after it, so they include every step a transition that held the lock before had opened."""
    reasons = [str(reason).strip() for reason in (reasons or []) if str(reason).strip()]
    if decision not in (WorkItem.Decision.APPROVED, WorkItem.Decision.REJECTED):
        _refuse_decision(work_item_id, actor, _("Choose whether to approve or reject."))
    if decision == WorkItem.Decision.REJECTED and not reasons:
        _refuse_decision(
            work_item_id, actor, _("Give at least one reason for the rejection: the applicant will see it.")
        )
    reasons = reasons if decision == WorkItem.Decision.REJECTED else []
    # One INSERT for the transition's events: the decision's, and those of the steps it opens
    # or of the application it decides.
    with transaction.atomic(), events_together():
        now = timezone.now()
        application, item = item_update_with_locked_application(
            work_item_id,
            where=Q(status=WorkItem.Status.CLAIMED, assignee_id=actor.pk),
            values={
                "status": WorkItem.Status.DONE,
                "decision": decision,
                "decision_reasons": reasons,
                "decision_note": note,
                "finished_at": now,
                # A finished step has no deadline to watch (routing.item_set_status does the same).
                "warning_at": None,
                "escalate_at": None,
                "updated_at": now,
            },
        )
        refuse_if_finished(application)
        if item is None:
            raise TransitionRefused(_("Only the clerk who has claimed this step can do that. Claim it first."))
        current = routing.current_items(application, lock=True)
        routing.timers_cancel(work_item=item)
        routing.item_status_recorded(
            item,
            WorkItem.Status.CLAIMED,
            kind=ApplicationEvent.Kind.STEP_APPROVED
            if decision == WorkItem.Decision.APPROVED
            else ApplicationEvent.Kind.STEP_REJECTED,
            actor=actor,
            reason="; ".join(reasons) or note,
            payload={"decision": decision, "reasons": reasons},
        )
        routing.advance_locked(application, actor=actor, items=current)
        return item


def _refuse_decision(work_item_id: int, actor: User, message: str) -> None:
    """Refuses a decision that is not one, after the refusals a valid one would meet first."""
    with transaction.atomic():
        application, item, _current = locked_items(work_item_id)
        refuse_if_finished(application)
        refuse_unless_assignee(item, actor)
    raise TransitionRefused(message)
