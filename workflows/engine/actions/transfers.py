"""Handing a step to another department: directly where the route allows it, else by a supervisor's approval."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Role, User
from accounts.selectors import has_role
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.events import event_record
from workflows.engine.guards import (
    locked_item,
    refuse_if_finished,
)
from workflows.models import Application, ApplicationEvent, TransferRequest, WorkItem


def transfer_allowed(application: Application, item: WorkItem, department: Department) -> bool:
    """Whether the route lets the clerk hand this step to `department` without approval."""
    step = next((step for step in routing.route_steps(application) if step.key == item.step_key), None)
    return step is not None and department.code in step.transfer_to


def _refuse_unless_transferable(application: Application, item: WorkItem, target: Department | None) -> Department:
    refuse_if_finished(application)
    if target is None:
        raise TransitionRefused(_("There is no such department."))
    if item.kind != WorkItem.Kind.REVIEW or item.status not in (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED):
        raise TransitionRefused(_("Only an open review step can be transferred."))
    if target.pk == item.department_id:
        raise TransitionRefused(_("The step is already with that department."))
    return target


def _transfer_locked(
    application: Application, item: WorkItem, target: Department, actor: User, reason: str
) -> WorkItem:
    routing.timers_cancel(work_item=item)
    # A supervisor's own transfer settles any request still waiting on this step.
    TransferRequest.objects.filter(work_item=item, status=TransferRequest.Status.PENDING).update(
        status=TransferRequest.Status.LAPSED, decided_by=actor, decided_at=timezone.now()
    )
    routing.item_set_status(
        item,
        WorkItem.Status.CANCELLED,
        kind=ApplicationEvent.Kind.STEP_TRANSFERRED,
        actor=actor,
        reason=reason,
        payload={"to_department": target.code},
    )
    step = next(step for step in routing.route_steps(application) if step.key == item.step_key)
    return routing.step_open(
        application,
        step,
        now=timezone.now(),
        round_number=item.round + 1,
        department=target,
        due_at=item.statutory_due_at,
        actor=actor,
        reason=reason,
    )


def work_item_transfer(
    *, work_item_id: int, actor: User, department: Department | str, reason: str
) -> WorkItem | TransferRequest:
    """Hands a review step to another department: this round ends, a new round opens there
    with the same statutory due time (the clock does not restart).

    A supervisor of the step's department transfers anywhere; the clerk who claimed the step
    transfers to the departments its route names (`transfer_to`). Anywhere else, the clerk's
    transfer becomes a `TransferRequest` a supervisor approves or declines; the step stays
    with the clerk meanwhile. Returns the new round's work item, or the request.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        application, item = locked_item(work_item_id)
        target = (
            department if isinstance(department, Department) else Department.objects.filter(code=department).first()
        )
        is_assignee = item.status == WorkItem.Status.CLAIMED and item.assignee_id == actor.pk
        is_supervisor = has_role(actor, (Role.SUPERVISOR,), item.department_id)
        if not (is_assignee or is_supervisor):
            raise TransitionRefused(_("Only the clerk who has claimed this step, or a supervisor, can transfer it."))
        target = _refuse_unless_transferable(application, item, target)
        if not reason:
            raise TransitionRefused(_("Say why the step goes to another department."))
        if is_supervisor or transfer_allowed(application, item, target):
            return _transfer_locked(application, item, target, actor, reason)
        if TransferRequest.objects.filter(work_item=item, status=TransferRequest.Status.PENDING).exists():
            raise TransitionRefused(_("A transfer of this step is already waiting for a supervisor's approval."))
        request = TransferRequest.objects.create(
            work_item=item, to_department=target, reason=reason, requested_by=actor
        )
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.TRANSFER_REQUESTED,
            from_status=item.status,
            to_status=item.status,
            actor=actor,
            reason=reason,
            payload={"to_department": target.code, "request": request.pk},
        )
        return request


def transfer_request_decide(*, request_id: int, actor: User, approve: bool, note: str = "") -> TransferRequest:
    """A supervisor of the step's department approves (the step is transferred, with the
    clerk's reason) or declines (with a note the clerk sees) a pending transfer request.

    A request whose step has moved on since (decided, asked for a correction, transferred)
    lapses instead: nothing else changes, and the request says so.
    """
    note = (note or "").strip()
    work_item_id = TransferRequest.objects.filter(pk=request_id).values_list("work_item_id", flat=True).first()
    if work_item_id is None:
        raise TransitionRefused(_("This transfer request does not exist."))
    with transaction.atomic():
        application, item = locked_item(work_item_id)
        request = TransferRequest.objects.select_for_update().select_related("to_department").get(pk=request_id)
        if not has_role(actor, (Role.SUPERVISOR,), item.department_id):
            raise TransitionRefused(_("Only a supervisor of the step's department can decide on a transfer."))
        if request.status != TransferRequest.Status.PENDING:
            raise TransitionRefused(
                _("This transfer request has already been decided: %(status)s.")
                % {"status": request.get_status_display().lower()}
            )
        if not approve and not note:
            raise TransitionRefused(_("Say why the transfer is declined: the clerk will read it."))
        live = item.status in (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED) and not application.is_finished
        request.decided_by, request.decided_at, request.decision_note = actor, timezone.now(), note
        if not live:
            request.status = TransferRequest.Status.LAPSED
        elif approve:
            request.status = TransferRequest.Status.APPROVED
        else:
            request.status = TransferRequest.Status.DECLINED
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if request.status == TransferRequest.Status.APPROVED:
            _transfer_locked(application, item, request.to_department, actor, request.reason)
        elif request.status == TransferRequest.Status.DECLINED:
            event_record(
                application=application,
                work_item=item,
                kind=ApplicationEvent.Kind.TRANSFER_DECLINED,
                from_status=item.status,
                to_status=item.status,
                actor=actor,
                reason=note,
                payload={"to_department": request.to_department.code, "request": request.pk},
            )
        return request
