"""The one correction request a step may make, and the applicant's answer, which restarts its clock.

In a bundle (the applications of one life event, submitted together) an answer or document
several applications share is corrected once: the answer reaches every sibling that uses it,
each records it in its history, and only the asking steps' clocks stop and resume. A sibling
that has finished is left as it was decided.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import STAFF_ROLES, has_role
from documents.models import Document
from lib.text import join_names
from services.conditions import evaluate
from services.elements import validate_value
from services.models import DataElement, DocumentType
from workflows import clock
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.events import event_record
from workflows.engine.guards import (
    CORRECTION_TIMERS,
    DEADLINE_TIMERS,
    acts_for,
    locked_item,
    refuse_if_finished,
    refuse_unless_acts_for,
    refuse_unless_assignee,
)
from workflows.models import Application, ApplicationEvent, GroupDocument, Timer, WorkItem


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
        application, item = locked_item(work_item_id)
        refuse_if_finished(application)
        refuse_unless_assignee(item, actor)
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
        needs = next((step.needs for step in routing.route_steps(application) if step.key == item.step_key), None)
        if needs is not None:
            # Data minimisation: a step asks only about what it is shown.
            unseen = (set(fields) - needs.elements) | (set(materials) - needs.documents)
            if unseen:
                raise TransitionRefused(
                    _("Your step is not shown these, so it cannot ask for them to be corrected: %(names)s.")
                    % {"names": join_names(sorted(unseen))}
                )
        bound = sorted(DataElement.objects.filter(key__in=fields, bound=True).values_list("key", flat=True))
        if bound:
            raise TransitionRefused(
                _("%(names)s come from the applicant's verified identity; they cannot be corrected by the applicant.")
                % {"names": join_names(bound)}
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
            kind=ApplicationEvent.Kind.CORRECTION_REQUESTED,
            actor=actor,
            reason=message,
            payload={"fields": fields, "materials": materials},
            fields=["correction", "decision", "clock_stopped_at"],
        )
        if application.status != Application.Status.AWAITING_APPLICANT:
            routing.application_set_status(
                application,
                Application.Status.AWAITING_APPLICANT,
                kind=ApplicationEvent.Kind.CORRECTION_REQUESTED,
                actor=actor,
                reason=message,
                payload={"step": item.step_key},
            )
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


def _steps_resume(
    application: Application,
    pending: list[WorkItem],
    *,
    applicant: User,
    now: Any,
    changes: dict[str, Any],
    fields: list[str],
    materials: list[str],
    payload: dict[str, Any],
) -> None:
    """The waiting steps the answer covers resume (with their clerk, or back in the queue), their
    due times and the application's move later by the working time each clock was stopped, and
    the application goes on. Its answers (`application.data`) are saved with it."""
    earliest_stop = min(item.clock_stopped_at or now for item in pending)
    if application.statutory_due_at:
        application.statutory_due_at = clock.resume_due_at(
            application.statutory_due_at, stopped_at=earliest_stop, resumed_at=now
        )
    application.save(update_fields=["data", "statutory_due_at", "updated_at"])
    for item in pending:
        if item.statutory_due_at and item.clock_stopped_at:
            item.statutory_due_at = clock.resume_due_at(
                item.statutory_due_at, stopped_at=item.clock_stopped_at, resumed_at=now
            )
        item.clock_stopped_at = None
        item.correction = {**item.correction, "answered_at": now.isoformat(), "changes": changes}
        item.decision = WorkItem.Decision.NONE
        clerk_still_here = item.assignee is not None and has_role(item.assignee, STAFF_ROLES, item.department_id)
        if not clerk_still_here:
            item.assignee = None
        routing.timers_cancel(work_item=item, kinds=CORRECTION_TIMERS)
        routing.item_set_status(
            item,
            WorkItem.Status.CLAIMED if clerk_still_here else WorkItem.Status.OPEN,
            kind=ApplicationEvent.Kind.CORRECTION_ANSWERED,
            actor=applicant,
            payload={"fields": fields, "materials": materials},
            fields=["statutory_due_at", "clock_stopped_at", "correction", "decision", "assignee"],
        )
        routing.deadline_timers_schedule(item, since=now)
    routing.application_set_status(
        application,
        Application.Status.IN_PROGRESS,
        kind=ApplicationEvent.Kind.CORRECTION_SUBMITTED,
        actor=applicant,
        payload={"fields": fields, "materials": materials, **payload},
    )
    routing.advance_locked(application, actor=applicant)


def _covered_corrections(sibling: Application, answers: set[str], codes: set[str]) -> list[WorkItem]:
    """The sibling's own waiting correction requests, when the answer covers all of them (each
    field and document they ask about); none otherwise, so the applicant answers the rest there."""
    if sibling.status != Application.Status.AWAITING_APPLICANT:
        return []
    pending = _pending_corrections(sibling)
    asked_fields = {key for item in pending for key in item.correction.get("fields", [])}
    asked_materials = {code for item in pending for code in item.correction.get("materials", [])}
    if pending and asked_fields <= answers and asked_materials <= codes:
        return pending
    return []


@dataclass(frozen=True)
class CorrectionOutcome:
    """What one answer to a correction request changed."""

    application: Application
    # Siblings of the bundle that took the corrected answers or documents.
    updated: list[Application] = field(default_factory=list)
    # Siblings that use them but had already finished: left as they were decided.
    finished: list[Application] = field(default_factory=list)
    # Siblings that use them but that the person answering may not act on (a delegate whose
    # mandate covers only some of the bundle's services): left for the applicant.
    not_covered: list[Application] = field(default_factory=list)


def _bundle_lock(application_id: int) -> tuple[Application, list[Application]]:
    """The application and its bundle's other applications, all locked in id order (so two
    answers in one bundle never wait for each other crosswise)."""
    group_id = Application.objects.filter(pk=application_id).values_list("group_id", flat=True).first()
    if group_id is None:
        raise TransitionRefused(_("This application does not exist."))
    locked = [
        routing.with_version(found)
        for found in Application.objects.select_for_update(of=("self",)).filter(group_id=group_id).order_by("pk")
    ]
    application = next(found for found in locked if found.pk == application_id)
    return application, [found for found in locked if found.pk != application_id]


def _answers_used_by(sibling: Application, cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """The corrected answers the sibling's own form asks (and shows): what its department
    received, or would receive now."""
    current = sibling.data or {}
    merged = {**current, **cleaned}
    used = {}
    for form_field in sibling.service_version.fields.filter(element__key__in=list(cleaned)).select_related("element"):
        key = form_field.element.key
        if key in current or evaluate(form_field.when, merged):
            used[key] = cleaned[key]
    return used


def _materials_used_by(sibling: Application, codes: list[str]) -> set[str]:
    return set(
        sibling.service_version.materials.filter(document_type__code__in=codes).values_list(
            "document_type__code", flat=True
        )
    )


def _keep_documents(sibling: Application, codes: list[str], replaced: Mapping[str, int]) -> None:
    """The sibling keeps, in a row of its own, each bundle document about to be replaced."""
    for document_type in DocumentType.objects.filter(code__in=[code for code in codes if code in replaced]):
        GroupDocument.objects.get_or_create(
            group_id=sibling.group_id,
            application=sibling,
            document_type=document_type,
            defaults={"document_id": replaced[document_type.code]},
        )


def _bundle_spread(
    *,
    application: Application,
    siblings: list[Application],
    applicant: User,
    asked_by: list[str],
    cleaned: Mapping[str, Any],
    documents: Mapping[str, int],
    replaced: Mapping[str, int],
    now: Any,
) -> CorrectionOutcome:
    """Gives each unfinished sibling the corrected answers and documents it uses, with one
    event saying whose request they answer. Their steps and clocks are not touched: they did
    not ask; unless the sibling asked about the same things itself, and the answer covers all
    it asked: then its request is answered too and its asking steps resume. A finished sibling
    keeps its answers, and keeps the document it was decided on in a row of its own before the
    bundle's is replaced. A sibling that already holds every value (an answer sent again) gets
    nothing and no event."""
    updated: list[Application] = []
    finished: list[Application] = []
    not_covered: list[Application] = []
    changed_codes = [code for code, document_id in documents.items() if replaced.get(code) != document_id]
    for sibling in siblings:
        answers = _answers_used_by(sibling, cleaned)
        codes = _materials_used_by(sibling, list(documents))
        if not answers and not codes:
            continue
        left_alone = not_covered if not acts_for(applicant, sibling) else finished if sibling.is_finished else None
        if left_alone is not None:
            left_alone.append(sibling)
            _keep_documents(sibling, sorted(codes & set(changed_codes)), replaced)
            continue
        current = sibling.data or {}
        changed_keys = sorted(key for key, value in answers.items() if key not in current or current[key] != value)
        materials = sorted(codes & set(changed_codes))
        waiting = _covered_corrections(sibling, set(answers), codes)
        if not changed_keys and not materials and not waiting:
            continue
        sibling.data = {**current, **{key: answers[key] for key in changed_keys}}
        if changed_keys or materials:
            sibling.save(update_fields=["data", "updated_at"])
            # Keys and codes only: the values live in the application's data, which retention
            # removes; events are kept for ever.
            event_record(
                application=sibling,
                kind=ApplicationEvent.Kind.CORRECTED_IN_BUNDLE,
                from_status=sibling.status,
                to_status=sibling.status,
                actor=applicant,
                payload={
                    "fields": changed_keys,
                    "materials": materials,
                    "asked_by": asked_by,
                    "source": application.number,
                },
            )
        if waiting:
            asked_fields = sorted({key for item in waiting for key in item.correction.get("fields", [])})
            asked_materials = sorted({code for item in waiting for code in item.correction.get("materials", [])})
            _steps_resume(
                sibling,
                waiting,
                applicant=applicant,
                now=now,
                changes={
                    "answers": [
                        {"key": key, "before": current.get(key), "after": answers[key]} for key in asked_fields
                    ],
                    "documents": [
                        {"code": code, "before": replaced.get(code), "after": documents[code]}
                        for code in asked_materials
                    ],
                },
                fields=asked_fields,
                materials=asked_materials,
                payload={"source": application.number},
            )
        updated.append(sibling)
    return CorrectionOutcome(application=application, updated=updated, finished=finished, not_covered=not_covered)


def correction_submit(
    *, application_id: int, applicant: User, data: Mapping[str, Any], documents: Mapping[str, int]
) -> Application:
    """The applicant answers (see `correction_answer`); the corrected application."""
    return correction_answer(
        application_id=application_id, applicant=applicant, data=data, documents=documents
    ).application


def correction_answer(
    *, application_id: int, applicant: User, data: Mapping[str, Any], documents: Mapping[str, int]
) -> CorrectionOutcome:
    """The applicant answers: only the requested fields and documents may change. Each waiting
    step resumes (with its clerk, or back in the queue) and its due time moves later by the
    working time the clock was stopped. In a bundle, the siblings that use a corrected answer
    or document take it too (their clocks keep running); finished ones are left as they are.

    Sent twice, the second answer is refused (nothing is waiting any more) and changes nothing."""
    with transaction.atomic():
        application, siblings = _bundle_lock(application_id)
        refuse_unless_acts_for(applicant, application)
        refuse_if_finished(application)
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
        # What this answer changes, kept with the correction so the clerk sees the round's
        # difference (answers before → after, documents replaced or added).
        replaced = dict(
            GroupDocument.objects.filter(
                group_id=application.group_id, application__isnull=True, document_type__code__in=list(documents)
            ).values_list("document_type__code", "document_id")
        )
        earlier = application.data or {}
        changes = {
            "answers": [{"key": key, "before": earlier.get(key), "after": cleaned[key]} for key in sorted(cleaned)],
            "documents": [
                {"code": document_type.code, "before": replaced.get(document_type.code), "after": document.pk}
                for document_type, document in attachments
            ],
        }
        application.data = {**(application.data or {}), **cleaned}
        # Before the bundle's documents are replaced: a finished sibling keeps its own.
        outcome = _bundle_spread(
            application=application,
            siblings=siblings,
            applicant=applicant,
            asked_by=sorted({item.department.code for item in pending}),
            cleaned=cleaned,
            documents={document_type.code: document.pk for document_type, document in attachments},
            replaced=replaced,
            now=now,
        )
        for document_type, document in attachments:
            GroupDocument.objects.update_or_create(
                group_id=application.group_id,
                application=None,
                document_type=document_type,
                defaults={"document": document},
            )
        bundle = {}
        if outcome.updated or outcome.finished or outcome.not_covered:
            # What the confirmation page tells the applicant (numbers only).
            bundle = {
                "bundle_updated": [sibling.number for sibling in outcome.updated],
                "bundle_finished": [sibling.number for sibling in outcome.finished],
                "bundle_not_covered": [sibling.number for sibling in outcome.not_covered],
            }
        _steps_resume(
            application,
            pending,
            applicant=applicant,
            now=now,
            changes=changes,
            fields=sorted(cleaned),
            materials=sorted(documents),
            payload=bundle,
        )
        return outcome
