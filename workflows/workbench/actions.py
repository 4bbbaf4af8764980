"""Writes of the department workbench: claim, release, assign, notes.

Decisions, correction requests, transfers and incidents are the engine's transitions
(`workflows.engine.actions`); the workbench only calls them.

Claims are conditional updates (DESIGN §5.4): `UPDATE … WHERE id = … AND status = 'open' AND
assignee IS NULL`. When two clerks click at once exactly one row changes; the other clerk is
told who has it. Each write takes the application's row lock first (the engine's lock order:
application, then work item) so the event it writes extends the application's hash chain.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from services.models import LifeEvent, Service
from workflows.apply.actions import NotARepresentative, ServiceUnavailable, draft_start
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationGroup, Note, WorkItem
from workflows.workbench.selectors import (
    COUNTER_ROLES,
    QUEUE_ROLES,
    SUPERVISOR_ROLES,
    counter_life_events,
    department_ids,
    has_role,
)

__all__ = [
    "BulkResult",
    "TransitionRefused",
    "counter_draft_start",
    "note_add",
    "work_item_assign",
    "work_item_claim",
    "work_item_release",
    "work_items_assign",
    "work_items_claim",
]


@dataclass
class BulkResult:
    done: list[WorkItem] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def _lock_application_of(work_item_id: int) -> Application:
    application_id = WorkItem.objects.filter(pk=work_item_id).values_list("application_id", flat=True).first()
    if application_id is None:
        raise TransitionRefused(_("This work item does not exist."))
    return routing.application_lock(application_id)


def _refuse_if_finished(application: Application) -> None:
    if application.is_finished:
        raise TransitionRefused(
            _("Application %(number)s is already %(status)s; nothing more can be done on it.")
            % {"number": application.number, "status": application.get_status_display().lower()}
        )


def _reload(work_item_id: int, application: Application) -> WorkItem:
    item = WorkItem.objects.select_related("department", "assignee").get(pk=work_item_id)
    item.application = application
    return item


def work_item_claim(*, work_item_id: int, clerk: User) -> WorkItem:
    """The clerk takes an open review step of one of their departments.

    Raises TransitionRefused("already taken by <name>") when another clerk won.
    """
    with transaction.atomic():
        application = _lock_application_of(work_item_id)
        _refuse_if_finished(application)
        now = timezone.now()
        changed = WorkItem.objects.filter(
            pk=work_item_id,
            status=WorkItem.Status.OPEN,
            assignee__isnull=True,
            kind=WorkItem.Kind.REVIEW,
            department_id__in=department_ids(user=clerk, roles=QUEUE_ROLES),
        ).update(status=WorkItem.Status.CLAIMED, assignee=clerk, claimed_at=now, updated_at=now)
        item = _reload(work_item_id, application)
        if changed != 1:
            if item.assignee_id == clerk.pk:
                raise TransitionRefused(_("You have already claimed this step."))
            if item.assignee is not None:
                raise TransitionRefused(_("Already taken by %(name)s.") % {"name": item.assignee.name})
            raise TransitionRefused(_("This step is no longer open, so it cannot be claimed."))
        event_record(
            application=application,
            work_item=item,
            kind="step_claimed",
            from_status=WorkItem.Status.OPEN,
            to_status=WorkItem.Status.CLAIMED,
            actor=clerk,
        )
        return item


def work_item_release(*, work_item_id: int, clerk: User) -> WorkItem:
    """The assignee puts their claimed step back in the unclaimed queue."""
    with transaction.atomic():
        application = _lock_application_of(work_item_id)
        _refuse_if_finished(application)
        changed = WorkItem.objects.filter(pk=work_item_id, status=WorkItem.Status.CLAIMED, assignee_id=clerk.pk).update(
            status=WorkItem.Status.OPEN, assignee=None, claimed_at=None, updated_at=timezone.now()
        )
        item = _reload(work_item_id, application)
        if changed != 1:
            raise TransitionRefused(_("Only the clerk who has claimed this step can put it back."))
        event_record(
            application=application,
            work_item=item,
            kind="step_released",
            from_status=WorkItem.Status.CLAIMED,
            to_status=WorkItem.Status.OPEN,
            actor=clerk,
        )
        return item


def work_item_assign(*, work_item_id: int, supervisor: User, assignee: User, reason: str = "") -> WorkItem:
    """A supervisor gives an open or claimed step to a clerk of its department (assign or
    reassign). The assignee must hold a queue role in that department."""
    with transaction.atomic():
        application = _lock_application_of(work_item_id)
        _refuse_if_finished(application)
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
            kind="step_reassigned" if before["assignee_id"] else "step_assigned",
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
        except TransitionRefused as refused:
            result.refused[work_item_id] = refused.message
    return result


def work_items_assign(*, work_item_ids: Iterable[int], supervisor: User, assignee: User) -> BulkResult:
    result = BulkResult()
    for work_item_id in dict.fromkeys(work_item_ids):
        try:
            result.done.append(work_item_assign(work_item_id=work_item_id, supervisor=supervisor, assignee=assignee))
        except TransitionRefused as refused:
            result.refused[work_item_id] = refused.message
    return result


def note_add(*, work_item: WorkItem, author: User, text: str) -> Note:
    """An internal note on the work item's application (never shown to the applicant)."""
    text = (text or "").strip()
    if not text:
        raise TransitionRefused(_("Write the note first."))
    with transaction.atomic():
        return Note.objects.create(
            application_id=work_item.application_id,
            work_item=work_item,
            department_id=work_item.department_id,
            author=author,
            text=text[:5000],
        )


# --- Counter filing ("one door") --------------------------------------------------------------


def counter_draft_start(
    *,
    clerk: User,
    resident_id: str,
    consent: bool,
    service: Service | None = None,
    life_event: LifeEvent | None = None,
    organisation_code: str = "",
) -> ApplicationGroup:
    """A counter clerk starts a draft on behalf of a walk-in person identified by resident ID,
    for one service or every service of a life event (one merged form, as online), for the
    person or for an organisation they represent (named by its unified social credit code).

    The draft belongs to that person (it appears in their account, with their verified data
    prefilled); the clerk and the moment consent was recorded are kept on it.
    """
    if not has_role(clerk, COUNTER_ROLES):
        raise TransitionRefused(_("Only counter staff can file on behalf of a visitor."))
    if not consent:
        raise TransitionRefused(_("Record the person's consent before filing for them."))
    resident_id = (resident_id or "").strip().upper()
    person = User.objects.filter(resident_id__iexact=resident_id, is_active=True).first() if resident_id else None
    if person is None:
        raise TransitionRefused(
            _("No account has this resident ID number. The person must register (or be registered) first.")
        )
    if person.pk == clerk.pk:
        raise TransitionRefused(_("You cannot file at the counter for yourself."))
    offered = (
        service is not None and service.at_counter
        if life_event is None
        else any(event.pk == life_event.pk for event in counter_life_events())
    )
    if not offered:
        raise ServiceUnavailable(_("This is not offered at the counter: the person can apply online."))
    organisation = None
    if organisation_code:
        organisation = person.organisations.filter(registration_number__iexact=organisation_code).first()
        if organisation is None:
            raise NotARepresentative(
                _("This person does not represent an organisation with that unified social credit code.")
            )
    with transaction.atomic():
        group = draft_start(applicant=person, service=service, life_event=life_event, organisation=organisation)
        group.filed_by = clerk
        group.consent_recorded_at = timezone.now()
        group.save(update_fields=["filed_by", "consent_recorded_at", "updated_at"])
        return group
