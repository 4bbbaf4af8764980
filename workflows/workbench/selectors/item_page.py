"""What the clerk's work item page shows: the applicant's answers (sensitive values masked until
revealed), documents, history, notes, certificates, the clock and the decision choices.

Data minimisation: a step is shown only what it needs (`step_needs`). Without a `needs` in its
route step that is everything its own service's form asks, which for an application of a
life-event bundle is that service's questions and documents, never the whole merged form. Every
read of answers or documents here takes the step's needs, so the page, the API, the reveal and
the document views cannot show one thing and serve another.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Department
from documents.models import Certificate, Document
from lib.text import in_language, join_names
from services.elements import display_value, mask_value
from services.models import DataElement
from services.routes import RouteError, StepNeeds, parse_route
from workflows import clock
from workflows.models import (
    Application,
    ApplicationEvent,
    GroupDocument,
    Note,
    WorkItem,
)

# --- What a step is shown ----------------------------------------------------------------------


def step_needs(item: WorkItem) -> StepNeeds | None:
    """What `item`'s step is shown of its application: None for all that the application's own
    form asks. Read from the pinned version's route (already loaded with the page), no query."""
    try:
        steps = parse_route(item.application.service_version.route)
    except RouteError:
        # Never published like this (publish validation parses the route); shown nothing
        # rather than everything.
        return StepNeeds()
    step = next((step for step in steps if step.key == item.step_key), None)
    return step.needs if step is not None else None


def _needed_element(needs: StepNeeds | None, key: str) -> bool:
    return needs is None or key in needs.elements


def _needed_document(needs: StepNeeds | None, code: str) -> bool:
    return needs is None or code in needs.documents


@dataclass(frozen=True)
class Visible:
    """What a department was shown of an application, as recorded in the access log."""

    elements: tuple[str, ...]
    documents: tuple[str, ...]

    def as_json(self) -> dict[str, list[str]]:
        return {"elements": list(self.elements), "documents": list(self.documents)}


def visible_on_page(sections: list["Section"], documents: list[GroupDocument]) -> Visible:
    """The element keys and document types a page (or API answer) actually showed."""
    return Visible(
        elements=tuple(sorted({row.key for section in sections for row in section.rows})),
        documents=tuple(sorted({attachment.document_type.code for attachment in documents})),
    )


# --- The work item page -----------------------------------------------------------------------


@dataclass
class FieldRow:
    key: str
    label: str
    shown: str
    masked: bool
    changed_from_verified: bool
    revealed: bool = False


@dataclass
class Section:
    title: str
    rows: list[FieldRow]


def _is_protected(element: DataElement) -> bool:
    return element.kind == DataElement.Kind.RESIDENT_ID or element.sensitivity == DataElement.Sensitivity.SENSITIVE


def applicant_sections(
    application: Application, *, needs: StepNeeds | None, revealed: frozenset[str] = frozenset()
) -> list[Section]:
    """The applicant's data laid out by the pinned version's form: sections, labels from the
    data dictionary, protected values masked unless revealed; only what the step needs."""
    data = application.data or {}
    changed = set(application.group.changed_verified or [])
    sections: dict[str, Section] = {}
    for form_field in application.service_version.fields.select_related("element").order_by("order", "pk"):
        element = form_field.element
        if element.key not in data or not _needed_element(needs, element.key):
            continue
        value = data[element.key]
        protected = _is_protected(element)
        reveal = protected and element.key in revealed
        row = FieldRow(
            key=element.key,
            label=element.label,
            shown=display_value(element, value) if (reveal or not protected) else mask_value(element, value),
            masked=protected and not reveal,
            changed_from_verified=element.key in changed,
            revealed=reveal,
        )
        title = form_field.section
        sections.setdefault(title, Section(title=title, rows=[])).rows.append(row)
    return list(sections.values())


def field_value_for_reveal(
    application: Application, key: str, *, needs: StepNeeds | None
) -> tuple[DataElement, Any] | None:
    """The element and value of a protected field of this application's form that the step
    needs, or None."""
    if not _needed_element(needs, key):
        return None
    form_field = application.service_version.fields.select_related("element").filter(element__key=key).first()
    if form_field is None or key not in (application.data or {}) or not _is_protected(form_field.element):
        return None
    return form_field.element, application.data[key]


def _attachments_of(application: Application, needs: StepNeeds | None) -> QuerySet[GroupDocument]:
    """The bundle's documents this application's own form asks for and the step needs: a
    department sees what its step needs, never the documents of the bundle's other services (a
    tax clerk does not see the health certificate) nor those of its service's other steps."""
    needed = application.service_version.materials.values("document_type_id")
    # A document the application kept when the bundle's was corrected after it finished
    # stands in for the bundle's of the same type.
    kept = GroupDocument.objects.filter(application=application).values("document_type_id")
    attachments = GroupDocument.objects.filter(group_id=application.group_id, document_type_id__in=needed).filter(
        Q(application=application) | (Q(application__isnull=True) & ~Q(document_type_id__in=kept))
    )
    if needs is not None:
        attachments = attachments.filter(document_type__code__in=sorted(needs.documents))
    return attachments


def application_documents(application: Application, *, needs: StepNeeds | None) -> list[GroupDocument]:
    return list(
        _attachments_of(application, needs).select_related("document", "document_type").order_by("document_type__code")
    )


def application_document(application: Application, document_id: int, *, needs: StepNeeds | None) -> GroupDocument:
    """A document this application asks for and the step needs; 404 for any other document
    (the bundle's others, and those only other steps need)."""
    attachment = (
        _attachments_of(application, needs)
        .filter(document_id=document_id)
        .select_related("document", "document_type")
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


# Application-level event kind → the step-level kind the engine records with it.
STEP_TWINS: dict[str, str] = {
    ApplicationEvent.Kind.CORRECTION_SUBMITTED.value: ApplicationEvent.Kind.CORRECTION_ANSWERED.value
}
SAME_MOMENT = datetime.timedelta(seconds=30)  # one transaction writes both


def application_events(application: Application) -> list[ApplicationEvent]:
    """The history, each event once: a step's change and the application-level twin the engine
    records with it (same kind, same reason) are one line, the step's."""
    events = list(
        ApplicationEvent.objects.filter(application=application)
        .select_related("actor", "work_item", "work_item__department")
        .order_by("created_at", "pk")
    )
    of_steps = {(event.kind, event.reason) for event in events if event.work_item_id}
    events = [event for event in events if event.work_item_id or (event.kind, event.reason) not in of_steps]
    # An application-level event told in other words by its steps' events of the same moment:
    # "Applicant sent the correction" is each step's "Correction answered".
    told_by_steps = [(event.kind, event.actor_id, event.created_at) for event in events if event.work_item_id]
    events = [
        event
        for event in events
        if event.work_item_id
        or not any(
            kind == STEP_TWINS.get(event.kind) and actor == event.actor_id and abs(at - event.created_at) < SAME_MOMENT
            for kind, actor, at in told_by_steps
        )
    ]
    for event in events:
        event.label = event_label(event.kind)  # type: ignore[attr-defined]
    _tell_bundle_corrections(application, [e for e in events if e.kind == ApplicationEvent.Kind.CORRECTED_IN_BUNDLE])
    return events


def _tell_bundle_corrections(application: Application, events: list[ApplicationEvent]) -> None:
    """A correction that reached this application from another of its bundle says whose request
    it answered ("Corrected in answer to the Market Regulation Administration's request") and,
    as its reason, what it changed (the labels of this application's form)."""
    if not events:
        return
    codes = {code for event in events for code in (event.payload or {}).get("asked_by", [])}
    departments = {department.code: department.name for department in Department.objects.filter(code__in=codes)}
    labels = {
        form_field.element.key: form_field.element.label
        for form_field in application.service_version.fields.select_related("element")
    }
    names = {
        material.document_type.code: material.document_type.name
        for material in application.service_version.materials.select_related("document_type")
    }
    for event in events:
        payload = event.payload or {}
        asking = [departments.get(code, code) for code in payload.get("asked_by", [])]
        if asking:
            event.label = _("Corrected in answer to the %(department)s's request") % {  # type: ignore[attr-defined]
                "department": join_names(asking)
            }
        changed = [labels.get(key, key) for key in payload.get("fields", [])]
        changed += [names.get(code, code) for code in payload.get("materials", [])]
        event.detail = _("Changed: %(names)s (answer sent for application %(number)s)") % {  # type: ignore[attr-defined]
            "names": join_names(changed),
            "number": payload.get("source", ""),
        }


@dataclass
class AnswerChange:
    label: str
    before: str
    after: str
    changed: bool


@dataclass
class DocumentChange:
    name: str  # the document type
    before: str  # the file replaced; "" when the document was added
    after: str


@dataclass
class RoundChanges:
    """What the applicant's answer to a correction request changed."""

    step_label: str
    message: str
    requested_at: Any
    answered_at: Any
    answers: list[AnswerChange]
    documents: list[DocumentChange]


def _shown(element: DataElement | None, value: Any) -> str:
    if value is None or value == "":
        return ""
    if element is None:
        return str(value)
    return mask_value(element, value) if _is_protected(element) else display_value(element, value)


def correction_changes(application: Application, *, needs: StepNeeds | None) -> RoundChanges | None:
    """The latest answered correction of the application, as before → after for each answer it
    asked about and each document replaced or added (of those the step needs); None when no
    correction was answered or its record was removed with the answers (retention)."""
    answered = [
        item
        for item in WorkItem.objects.filter(application=application).exclude(correction={})
        if item.correction.get("answered_at") and isinstance(item.correction.get("changes"), dict)
    ]
    if not answered:
        return None
    latest = max(answered, key=lambda item: item.correction["answered_at"])
    changes = latest.correction["changes"]
    raw_answers = [
        row
        for row in changes.get("answers", [])
        if isinstance(row, dict) and _needed_element(needs, str(row.get("key", "")))
    ]
    elements = {
        element.key: element for element in DataElement.objects.filter(key__in=[row.get("key") for row in raw_answers])
    }
    answers = [
        AnswerChange(
            label=elements[row["key"]].label if row.get("key") in elements else str(row.get("key")),
            before=_shown(elements.get(row.get("key", "")), row.get("before")),
            after=_shown(elements.get(row.get("key", "")), row.get("after")),
            changed=row.get("before") != row.get("after"),
        )
        for row in raw_answers
    ]
    # Only the documents this application's own form asks for (as on the rest of the page).
    needed = {
        material.document_type.code: material.document_type.name
        for material in application.service_version.materials.select_related("document_type")
        if _needed_document(needs, material.document_type.code)
    }
    raw_documents = [row for row in changes.get("documents", []) if isinstance(row, dict) and row.get("code") in needed]
    names: dict[Any, str] = dict(
        Document.objects.filter(
            pk__in=[row.get(side) for row in raw_documents for side in ("before", "after") if row.get(side)]
        ).values_list("pk", "display_name")
    )
    documents = [
        DocumentChange(
            name=needed[row["code"]],
            before=names.get(row.get("before"), "") if row.get("before") else "",
            after=names.get(row.get("after"), ""),
        )
        for row in raw_documents
    ]
    return RoundChanges(
        step_label=latest.step_label,
        message=str(latest.correction.get("message", "")),
        requested_at=parse_datetime(str(latest.correction.get("requested_at") or "")),
        answered_at=parse_datetime(str(latest.correction["answered_at"])),
        answers=answers,
        documents=documents,
    )


def application_notes(application: Application) -> list[Note]:
    return list(Note.objects.filter(application=application).select_related("author", "department"))


def application_certificates(application: Application) -> list[Certificate]:
    return list(
        Certificate.objects.filter(application_number=application.number).select_related("document_type", "issued_by")
    )


def rejection_reason_choices(application: Application) -> list[tuple[str, str]]:
    reasons = application.service_version.rejection_reasons or []
    return [
        (str(reason.get("code")), in_language(str(reason.get("label_en", "")), str(reason.get("label_zh", ""))))
        for reason in reasons
        if isinstance(reason, dict) and reason.get("code")
    ]


def correction_choices(
    application: Application, *, needs: StepNeeds | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(fields, materials) the clerk may ask the applicant to correct: those the step sees."""
    version = application.service_version
    fields = [
        (form_field.element.key, form_field.element.label)
        for form_field in version.fields.select_related("element").order_by("order", "pk")
        if _needed_element(needs, form_field.element.key)
    ]
    materials = [
        (material.document_type.code, material.document_type.name)
        for material in version.materials.select_related("document_type").order_by("order", "pk")
        if _needed_document(needs, material.document_type.code)
    ]
    return fields, materials


def clock_state(item: WorkItem) -> dict[str, Any]:
    return {
        "due_at": item.statutory_due_at,
        "working_days_left": clock.working_days_left(item.statutory_due_at, stopped_at=item.clock_stopped_at),
        "stopped_at": item.clock_stopped_at,
        "overdue": clock.is_overdue(item.statutory_due_at, stopped_at=item.clock_stopped_at),
    }


def department_choices_for_transfer(item: WorkItem) -> QuerySet[Department]:
    return Department.objects.exclude(pk=item.department_id).order_by("code")


def event_label(kind: str) -> str:
    """What the clerk's history calls an event (its kind's label)."""
    try:
        return str(ApplicationEvent.Kind(kind).label)
    except ValueError:  # a kind of an older release
        return kind.replace("_", " ").capitalize()
