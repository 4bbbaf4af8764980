"""Supervisors resolve incidents (automatic steps whose retries ran out): retry, skip or cancel."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.selectors import has_role
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.guards import (
    locked_item,
    refuse_if_finished,
)
from workflows.models import Application, ApplicationEvent, Incident, WorkItem

# --- Supervisors: incidents ------------------------------------------------------------------


def _locked_incident(incident_id: int, actor: User) -> tuple[Application, WorkItem, Incident]:
    row = Incident.objects.filter(pk=incident_id).values_list("work_item_id", "department_id").first()
    if row is None:
        raise TransitionRefused(_("This incident does not exist."))
    work_item_id, department_id = row
    if not (actor.is_superuser or has_role(actor, (Role.SUPERVISOR,), department_id)):
        raise TransitionRefused(_("Only a supervisor of the department can handle this incident."))
    application, item = locked_item(work_item_id)
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if incident.status != Incident.Status.OPEN or item.status != WorkItem.Status.FAILED:
        raise TransitionRefused(_("This incident has already been handled."))
    return application, item, incident


def _resolve(incident: Incident, status: str, actor: User, note: str) -> None:
    incident.status = status
    incident.resolved_at = timezone.now()
    incident.resolved_by = actor
    incident.resolution_note = note
    incident.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])


def incident_retry(*, incident_id: int, actor: User, note: str = "") -> Incident:
    """Runs the failed automatic step again, with a fresh set of retries."""
    with transaction.atomic():
        application, item, incident = _locked_incident(incident_id, actor)
        refuse_if_finished(application)
        _resolve(incident, Incident.Status.RETRIED, actor, note)
        item.attempts = 0
        routing.item_set_status(
            item,
            WorkItem.Status.OPEN,
            kind=ApplicationEvent.Kind.STEP_RETRIED,
            actor=actor,
            reason=note,
            fields=["attempts"],
        )
        routing.step_dispatch(item)
        return incident


def incident_skip(*, incident_id: int, actor: User, note: str = "") -> Incident:
    """The supervisor settles the step by hand: it counts as not needed and the route goes on."""
    with transaction.atomic():
        application, item, incident = _locked_incident(incident_id, actor)
        refuse_if_finished(application)
        _resolve(incident, Incident.Status.SKIPPED, actor, note)
        routing.item_set_status(
            item,
            WorkItem.Status.SKIPPED,
            kind=ApplicationEvent.Kind.STEP_SKIPPED_BY_SUPERVISOR,
            actor=actor,
            reason=note,
        )
        routing.advance_locked(application, actor=actor)
        return incident


def incident_cancel(*, incident_id: int, actor: User, note: str = "") -> Incident:
    """The step cannot be done: it is cancelled, and the application ends as rejected with the
    supervisor's reason (the applicant sees it)."""
    with transaction.atomic():
        application, item, incident = _locked_incident(incident_id, actor)
        refuse_if_finished(application)
        _resolve(incident, Incident.Status.CANCELLED, actor, note)
        reason = note or _("The step “%(step)s” could not be completed.") % {"step": item.step_label}
        routing.item_set_status(
            item,
            WorkItem.Status.CANCELLED,
            kind=ApplicationEvent.Kind.STEP_CANCELLED_BY_SUPERVISOR,
            actor=actor,
            reason=reason,
        )
        routing.application_finish(
            application,
            Application.Status.REJECTED,
            kind=ApplicationEvent.Kind.APPLICATION_REJECTED,
            actor=actor,
            reason=reason,
            payload={"step": item.step_key, "incident": incident.pk},
        )
        return incident
