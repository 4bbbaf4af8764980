"""The engine's transitions (DESIGN §5): what clerks, supervisors, applicants and tasks do to
an application once it is submitted.

Each function is one transaction under `select_for_update` of the application. A refusal
raises `TransitionRefused` with a message for the person who asked, and changes nothing.
Every state change writes exactly one `ApplicationEvent` (work item changes name the item).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Membership, Role, User
from documents.models import Document
from portal.text import join_names
from services.elements import validate_value
from services.models import DataElement, DocumentType
from workflows.engine import clock, routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.events import event_record
from workflows.engine.selectors import application_route_state, followed_by
from workflows.models import Application, GroupDocument, Incident, Timer, TransferRequest, WorkItem
from workflows.outbox import outbox_confirm

__all__ = [
    "TransitionRefused",
    "acts_for",
    "advance",
    "application_route_state",
    "application_start",
    "application_withdraw",
    "correction_request",
    "correction_submit",
    "incident_cancel",
    "incident_retry",
    "incident_skip",
    "transfer_allowed",
    "transfer_request_decide",
    "work_item_claim",
    "work_item_decide",
    "work_item_transfer",
]

DEADLINE_TIMERS = (Timer.Kind.DEADLINE_WARNING, Timer.Kind.ESCALATION)
CORRECTION_TIMERS = (Timer.Kind.CORRECTION_DEADLINE, Timer.Kind.CORRECTION_REMINDER)


def _is_member(user: User, department_id: int, roles: Iterable[str] | None = None) -> bool:
    memberships = Membership.objects.filter(user=user, department_id=department_id)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return memberships.exists()


def _locked_item(work_item_id: int) -> tuple[Application, WorkItem]:
    """The work item and its application, both locked (application first, as everywhere)."""
    application_id = WorkItem.objects.filter(pk=work_item_id).values_list("application_id", flat=True).first()
    if application_id is None:
        raise TransitionRefused(_("This work item does not exist."))
    application = routing.application_lock(application_id)
    item = (
        WorkItem.objects.select_for_update(of=("self",)).select_related("department", "assignee").get(pk=work_item_id)
    )
    item.application = application
    return application, item


def acts_for(user: User, application: Application) -> bool:
    """Whether `user` may act on the application as its applicant: they made it, or it was made
    on behalf of an organisation they represent (every representative follows its applications)."""
    if application.applicant_id == user.pk:
        return True
    return Application.objects.filter(followed_by(user), pk=application.pk).exists()


def _refuse_if_finished(application: Application) -> None:
    if application.is_finished:
        raise TransitionRefused(
            _("Application %(number)s is already %(status)s; nothing more can be done on it.")
            % {"number": application.number, "status": application.get_status_display().lower()}
        )


def _refuse_unless_assignee(item: WorkItem, actor: User) -> None:
    if item.status != WorkItem.Status.CLAIMED or item.assignee_id != actor.pk:
        raise TransitionRefused(_("Only the clerk who has claimed this step can do that. Claim it first."))


# --- Starting and advancing ------------------------------------------------------------------


def application_start(*, application_id: int, outbox_id: int | None = None) -> Application:
    """Submitted → in progress, and the first steps open. A second call changes nothing."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        routing.application_begin_locked(application)
        # Confirmed in the same transaction: if this rolls back, the relay sends it again.
        outbox_confirm(outbox_id)
        return application


def advance(*, application_id: int) -> Application:
    """Opens every step that can open, skips the ones whose condition is false, and rejects or
    approves the application when that is due. Idempotent."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        routing.advance_locked(application)
        return application


# --- Clerks ----------------------------------------------------------------------------------


def work_item_claim(*, work_item_id: int, actor: User) -> WorkItem:
    """An open review step becomes the actor's; when two clerks click at once, one wins."""
    with transaction.atomic():
        application, item = _locked_item(work_item_id)
        _refuse_if_finished(application)
        if not _is_member(actor, item.department_id):
            raise TransitionRefused(_("This step belongs to another department."))
        if item.kind != WorkItem.Kind.REVIEW:
            raise TransitionRefused(_("This step is done automatically; it cannot be claimed."))
        if item.status != WorkItem.Status.OPEN or item.assignee_id is not None:
            raise TransitionRefused(_("Someone else has already claimed this step, or it is no longer open."))
        item.assignee = actor
        item.claimed_at = timezone.now()
        routing.item_set_status(item, WorkItem.Status.CLAIMED, kind="step_claimed", actor=actor,
                                fields=["assignee", "claimed_at"])  # fmt: skip
        return item


def work_item_decide(
    *, work_item_id: int, actor: User, decision: str, reasons: list[str] | None = None, note: str = ""
) -> WorkItem:
    """The assignee approves or rejects their step; the route moves on in the same transaction."""
    reasons = [str(reason).strip() for reason in (reasons or []) if str(reason).strip()]
    with transaction.atomic():
        application, item = _locked_item(work_item_id)
        _refuse_if_finished(application)
        _refuse_unless_assignee(item, actor)
        if decision not in (WorkItem.Decision.APPROVED, WorkItem.Decision.REJECTED):
            raise TransitionRefused(_("Choose whether to approve or reject."))
        if decision == WorkItem.Decision.REJECTED and not reasons:
            raise TransitionRefused(_("Give at least one reason for the rejection: the applicant will see it."))
        item.decision = decision
        item.decision_reasons = reasons if decision == WorkItem.Decision.REJECTED else []
        item.decision_note = note
        routing.timers_cancel(work_item=item)
        routing.item_set_status(
            item,
            WorkItem.Status.DONE,
            kind="step_approved" if decision == WorkItem.Decision.APPROVED else "step_rejected",
            actor=actor,
            reason="; ".join(item.decision_reasons) or note,
            payload={"decision": decision, "reasons": item.decision_reasons},
            fields=["decision", "decision_reasons", "decision_note"],
        )
        routing.advance_locked(application, actor=actor)
        return item


def _version_field_keys(application: Application) -> set[str]:
    return set(application.service_version.fields.values_list("element__key", flat=True))


def _version_material_codes(application: Application) -> set[str]:
    return set(application.service_version.materials.values_list("document_type__code", flat=True))


def correction_request(
    *, work_item_id: int, actor: User, fields: list[str], materials: list[str], message: str
) -> WorkItem:
    """Asks the applicant to correct fields or documents — once per step and round. The step's
    statutory clock stops until they answer; a reply deadline is set."""
    fields = sorted({str(key) for key in fields or []})
    materials = sorted({str(code) for code in materials or []})
    message = (message or "").strip()
    with transaction.atomic():
        application, item = _locked_item(work_item_id)
        _refuse_if_finished(application)
        _refuse_unless_assignee(item, actor)
        if item.correction:
            raise TransitionRefused(
                _("A correction has already been requested at this step; it can be asked only once.")
            )
        if not fields and not materials:
            raise TransitionRefused(_("Choose at least one field or document the applicant must correct."))
        if not message:
            raise TransitionRefused(_("Tell the applicant what to correct and why."))
        unknown_fields = set(fields) - _version_field_keys(application) - set(application.data or {})
        unknown_materials = set(materials) - _version_material_codes(application)
        if unknown_fields or unknown_materials:
            raise TransitionRefused(
                _("These are not on this application's form: %(names)s.")
                % {"names": join_names(sorted(unknown_fields | unknown_materials))}
            )
        now = timezone.now()
        reply_days = settings.ENGINE_CORRECTION_REPLY_DAYS
        deadline = clock.add_working_days(now, reply_days)  # refuses (CalendarMissing) without a calendar
        item.correction = {
            "fields": fields,
            "materials": materials,
            "message": message,
            "requested_at": now.isoformat(),
            "requested_by": actor.pk,
            "reply_by": deadline.isoformat(),
            "answered_at": None,
        }
        item.decision = WorkItem.Decision.CORRECTION
        item.clock_stopped_at = now
        routing.timers_cancel(work_item=item, kinds=DEADLINE_TIMERS)
        Timer.objects.bulk_create(
            [
                Timer(application=application, work_item=item, kind=Timer.Kind.CORRECTION_DEADLINE, fire_at=deadline),
                Timer(
                    application=application,
                    work_item=item,
                    kind=Timer.Kind.CORRECTION_REMINDER,
                    fire_at=clock.add_working_days(now, max(reply_days - 3, 1), strict=False),
                ),
            ]
        )
        routing.item_set_status(
            item,
            WorkItem.Status.WAITING,
            kind="correction_requested",
            actor=actor,
            reason=message,
            payload={"fields": fields, "materials": materials},
            fields=["correction", "decision", "clock_stopped_at"],
        )
        if application.status != Application.Status.AWAITING_APPLICANT:
            routing.application_set_status(
                application, Application.Status.AWAITING_APPLICANT, kind="correction_requested", actor=actor,
                reason=message, payload={"step": item.step_key},
            )  # fmt: skip
        return item


def _pending_corrections(application: Application) -> list[WorkItem]:
    items = WorkItem.objects.select_for_update(of=("self",)).filter(
        application=application, status=WorkItem.Status.WAITING, decision=WorkItem.Decision.CORRECTION
    )
    pending = [
        item for item in items.select_related("department", "assignee") if not item.correction.get("answered_at")
    ]
    for item in pending:
        item.application = application
    return pending


def correction_submit(
    *, application_id: int, applicant: User, data: Mapping[str, Any], documents: Mapping[str, int]
) -> Application:
    """The applicant answers: only the requested fields and documents may change. Each waiting
    step resumes (with its clerk, or back in the queue) and its due time moves later by the
    working time the clock was stopped."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        if not acts_for(applicant, application):
            raise TransitionRefused(_("This application does not exist."))
        _refuse_if_finished(application)
        pending = _pending_corrections(application)
        if application.status != Application.Status.AWAITING_APPLICANT or not pending:
            raise TransitionRefused(_("No correction is waiting for your answer on this application."))
        allowed_fields = {key for item in pending for key in item.correction.get("fields", [])}
        allowed_materials = {code for item in pending for code in item.correction.get("materials", [])}
        data = dict(data or {})
        documents = {str(code): document_id for code, document_id in (documents or {}).items()}
        extra = (set(data) - allowed_fields) | (set(documents) - allowed_materials)
        if extra:
            raise TransitionRefused(
                _("Only what the department asked about can be changed; not: %(names)s.")
                % {"names": join_names(sorted(extra))}
            )
        missing = (allowed_fields - set(data)) | (allowed_materials - set(documents))
        if missing:
            raise TransitionRefused(
                _("Please answer everything the department asked about: %(names)s.")
                % {"names": join_names(sorted(missing))}
            )
        cleaned: dict[str, Any] = {}
        elements = {element.key: element for element in DataElement.objects.filter(key__in=list(data))}
        for key, raw in data.items():
            if key not in elements:
                cleaned[key] = raw
                continue
            try:
                cleaned[key] = validate_value(elements[key], raw)
            except ValidationError as exc:
                raise TransitionRefused(
                    _("%(field)s: %(problem)s") % {"field": elements[key].label, "problem": " ".join(exc.messages)}
                ) from exc
        attachments: list[tuple[DocumentType, Document]] = []
        for code, document_id in documents.items():
            vault = Q(owner=applicant) | Q(owner_organisation__in=applicant.organisations.values("pk"))
            document = (
                Document.objects.filter(vault, pk=document_id, document_type__code=code)
                .select_related("document_type")
                .first()
            )
            if document is None:
                raise TransitionRefused(_("The document chosen for %(code)s is not in your vault.") % {"code": code})
            attachments.append((document.document_type, document))

        now = timezone.now()
        application.data = {**(application.data or {}), **cleaned}
        earliest_stop = min(item.clock_stopped_at or now for item in pending)
        fields = ["data"]
        if application.statutory_due_at:
            application.statutory_due_at = clock.resume_due_at(
                application.statutory_due_at, stopped_at=earliest_stop, resumed_at=now
            )
            fields.append("statutory_due_at")
        application.save(update_fields=[*fields, "updated_at"])
        for document_type, document in attachments:
            GroupDocument.objects.update_or_create(
                group_id=application.group_id, document_type=document_type, defaults={"document": document}
            )
        for item in pending:
            if item.statutory_due_at and item.clock_stopped_at:
                item.statutory_due_at = clock.resume_due_at(
                    item.statutory_due_at, stopped_at=item.clock_stopped_at, resumed_at=now
                )
            item.clock_stopped_at = None
            item.correction = {**item.correction, "answered_at": now.isoformat()}
            item.decision = WorkItem.Decision.NONE
            clerk_still_here = item.assignee is not None and _is_member(item.assignee, item.department_id)
            if not clerk_still_here:
                item.assignee = None
            routing.timers_cancel(work_item=item, kinds=CORRECTION_TIMERS)
            routing.item_set_status(
                item,
                WorkItem.Status.CLAIMED if clerk_still_here else WorkItem.Status.OPEN,
                kind="correction_answered",
                actor=applicant,
                payload={"fields": sorted(cleaned), "materials": sorted(documents)},
                fields=["statutory_due_at", "clock_stopped_at", "correction", "decision", "assignee"],
            )
            routing.deadline_timers_schedule(item, since=now)
        routing.application_set_status(
            application, Application.Status.IN_PROGRESS, kind="correction_submitted", actor=applicant,
            payload={"fields": sorted(cleaned), "materials": sorted(documents)},
        )  # fmt: skip
        routing.advance_locked(application, actor=applicant)
        return application


def transfer_allowed(application: Application, item: WorkItem, department: Department) -> bool:
    """Whether the route lets the clerk hand this step to `department` without approval."""
    step = next((step for step in routing.route_steps(application) if step.key == item.step_key), None)
    return step is not None and department.code in step.transfer_to


def _refuse_unless_transferable(application: Application, item: WorkItem, target: Department | None) -> Department:
    _refuse_if_finished(application)
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
        item, WorkItem.Status.CANCELLED, kind="step_transferred", actor=actor, reason=reason,
        payload={"to_department": target.code},
    )  # fmt: skip
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
        application, item = _locked_item(work_item_id)
        target = (
            department if isinstance(department, Department) else Department.objects.filter(code=department).first()
        )
        is_assignee = item.status == WorkItem.Status.CLAIMED and item.assignee_id == actor.pk
        is_supervisor = _is_member(actor, item.department_id, [Role.SUPERVISOR])
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
            application=application, work_item=item, kind="transfer_requested", from_status=item.status,
            to_status=item.status, actor=actor, reason=reason,
            payload={"to_department": target.code, "request": request.pk},
        )  # fmt: skip
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
        application, item = _locked_item(work_item_id)
        request = TransferRequest.objects.select_for_update().select_related("to_department").get(pk=request_id)
        if not _is_member(actor, item.department_id, [Role.SUPERVISOR]):
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
                application=application, work_item=item, kind="transfer_declined", from_status=item.status,
                to_status=item.status, actor=actor, reason=note,
                payload={"to_department": request.to_department.code, "request": request.pk},
            )  # fmt: skip
        return request


# --- Applicants ------------------------------------------------------------------------------


def application_withdraw(*, application_id: int, applicant: User) -> Application:
    """The applicant withdraws before a decision: open work and timers are cancelled."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        if not acts_for(applicant, application):
            raise TransitionRefused(_("This application does not exist."))
        _refuse_if_finished(application)
        routing.application_finish(
            application, Application.Status.WITHDRAWN, kind="application_withdrawn", actor=applicant,
            reason=_("Withdrawn by the applicant."),
        )  # fmt: skip
        return application


# --- Supervisors: incidents ------------------------------------------------------------------


def _locked_incident(incident_id: int, actor: User) -> tuple[Application, WorkItem, Incident]:
    row = Incident.objects.filter(pk=incident_id).values_list("work_item_id", "department_id").first()
    if row is None:
        raise TransitionRefused(_("This incident does not exist."))
    work_item_id, department_id = row
    if not (actor.is_superuser or _is_member(actor, department_id, [Role.SUPERVISOR])):
        raise TransitionRefused(_("Only a supervisor of the department can handle this incident."))
    application, item = _locked_item(work_item_id)
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
        _refuse_if_finished(application)
        _resolve(incident, Incident.Status.RETRIED, actor, note)
        item.attempts = 0
        routing.item_set_status(
            item, WorkItem.Status.OPEN, kind="step_retried", actor=actor, reason=note, fields=["attempts"]
        )
        routing.step_dispatch(item)
        return incident


def incident_skip(*, incident_id: int, actor: User, note: str = "") -> Incident:
    """The supervisor settles the step by hand: it counts as not needed and the route goes on."""
    with transaction.atomic():
        application, item, incident = _locked_incident(incident_id, actor)
        _refuse_if_finished(application)
        _resolve(incident, Incident.Status.SKIPPED, actor, note)
        routing.item_set_status(
            item, WorkItem.Status.SKIPPED, kind="step_skipped_by_supervisor", actor=actor, reason=note
        )
        routing.advance_locked(application, actor=actor)
        return incident


def incident_cancel(*, incident_id: int, actor: User, note: str = "") -> Incident:
    """The step cannot be done: it is cancelled, and the application ends as rejected with the
    supervisor's reason (the applicant sees it)."""
    with transaction.atomic():
        application, item, incident = _locked_incident(incident_id, actor)
        _refuse_if_finished(application)
        _resolve(incident, Incident.Status.CANCELLED, actor, note)
        reason = note or _("The step “%(step)s” could not be completed.") % {"step": item.step_label}
        routing.item_set_status(item, WorkItem.Status.CANCELLED, kind="step_cancelled_by_supervisor", actor=actor,
                                reason=reason)  # fmt: skip
        routing.application_finish(
            application, Application.Status.REJECTED, kind="application_rejected", actor=actor, reason=reason,
            payload={"step": item.step_key, "incident": incident.pk},
        )  # fmt: skip
        return incident
