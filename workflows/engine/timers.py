"""The timer sweep (DESIGN §5.5): deadlines live in the database and a beat task fires them.

A step's deadline warning and escalation are columns of its work item (`warning_at`,
`escalate_at`, each with a partial index holding only the set ones); a correction's reply
deadline and reminder are Timer rows. Each due timer is handled in its own transaction that
locks the application first (the same order as every transition, so no deadlock) and then the
timer (row or work item) with SKIP LOCKED, still due: two sweeps running at once never fire one
timer twice, and neither waits for the other. Firing clears the column or marks the row fired.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflows.engine import routing
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationEvent, Timer, WorkItem

logger = logging.getLogger("workflows.engine")

# Work item column → the timer kind it holds.
DEADLINE_COLUMNS = {"warning_at": Timer.Kind.DEADLINE_WARNING, "escalate_at": Timer.Kind.ESCALATION}


def _fire(timer: Timer, application: Application) -> None:
    _fire_kind(timer.kind, timer.work_item, application)


def _fire_kind(kind: str, item: WorkItem | None, application: Application) -> None:
    if item is not None:
        item.application = application
    live = item is not None and item.status in WorkItem.LIVE and not application.is_finished
    if not live:
        return
    assert item is not None
    if kind == Timer.Kind.DEADLINE_WARNING:
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.DEADLINE_WARNING,
            from_status=item.status,
            to_status=item.status,
            reason=_("The statutory deadline of this step is near."),
            payload={"due_at": item.statutory_due_at.isoformat() if item.statutory_due_at else None},
        )
    elif kind == Timer.Kind.ESCALATION:
        item.escalated_at = timezone.now()
        item.save(update_fields=["escalated_at", "updated_at"])
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.STEP_ESCALATED,
            from_status=item.status,
            to_status=item.status,
            reason=_("The step is overdue: escalated to the department's supervisors."),
        )
    elif kind == Timer.Kind.CORRECTION_REMINDER:
        event_record(
            application=application,
            work_item=item,
            kind=ApplicationEvent.Kind.CORRECTION_REMINDER,
            from_status=item.status,
            to_status=item.status,
            reason=_("Reminder: the department is waiting for your correction."),
        )
    elif kind == Timer.Kind.CORRECTION_DEADLINE:
        if item.status != WorkItem.Status.WAITING or item.correction.get("answered_at"):
            return
        reason = _("The correction was not provided by the deadline.")
        item.decision = WorkItem.Decision.REJECTED
        item.decision_reasons = [reason]
        item.clock_stopped_at = None
        routing.timers_cancel(work_item=item)
        routing.item_set_status(
            item,
            WorkItem.Status.DONE,
            kind=ApplicationEvent.Kind.CORRECTION_EXPIRED,
            reason=reason,
            fields=["decision", "decision_reasons", "clock_stopped_at"],
        )
        routing.advance_locked(application)
        still_waiting = WorkItem.objects.filter(
            application=application, status=WorkItem.Status.WAITING, decision=WorkItem.Decision.CORRECTION
        ).exists()
        if application.status == Application.Status.AWAITING_APPLICANT and not still_waiting:
            routing.application_set_status(
                application,
                Application.Status.IN_PROGRESS,
                kind=ApplicationEvent.Kind.CORRECTION_EXPIRED,
                reason=reason,
            )


def timers_fire(*, now=None, limit: int = 200) -> int:
    """Fires every due timer, the work items' deadline timers and the timer rows; returns how
    many this sweep fired."""
    now = now or timezone.now()
    fired = 0
    for column, kind in DEADLINE_COLUMNS.items():
        fired += _deadlines_fire(column, kind, now=now, limit=limit)
    due = list(
        Timer.objects.filter(fire_at__lte=now, fired_at__isnull=True, cancelled_at__isnull=True)
        .order_by("fire_at")
        .values_list("pk", "application_id")[:limit]
    )
    for timer_id, application_id in due:
        with transaction.atomic():
            application = routing.application_lock(application_id)
            timer = (
                Timer.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("work_item", "work_item__department")
                .filter(pk=timer_id, fired_at__isnull=True, cancelled_at__isnull=True)
                .first()
            )
            if timer is None:
                continue
            timer.fired_at = timezone.now()
            timer.save(update_fields=["fired_at"])
            _fire(timer, application)
            fired += 1
            logger.info("timer fired kind=%s application=%s", timer.kind, application.number)
    return fired


def _deadlines_fire(column: str, kind: str, *, now: datetime, limit: int) -> int:
    """Fires the deadline timers held in one work item column that are due (read through its
    partial index), clearing the column as it fires."""
    due = list(
        WorkItem.objects.filter(**{f"{column}__lte": now}).order_by(column).values_list("pk", "application_id")[:limit]
    )
    fired = 0
    for work_item_id, application_id in due:
        with transaction.atomic():
            application = routing.application_lock(application_id)
            item = (
                WorkItem.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("department", "assignee")
                .filter(pk=work_item_id, **{f"{column}__lte": now})
                .first()
            )
            if item is None:
                continue  # fired by another sweep, or moved on since it was read
            WorkItem.objects.filter(pk=work_item_id).update(**{column: None})
            setattr(item, column, None)
            _fire_kind(kind, item, application)
            fired += 1
            logger.info("timer fired kind=%s application=%s", kind, application.number)
    return fired
