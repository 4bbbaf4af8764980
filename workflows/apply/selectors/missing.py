"""What a draft still lacks before it can be submitted, and the "one time" figure of a form."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from documents.models import USABLE_SCAN_STATUSES, Document
from services.elements import validate_value
from services.models import (
    ServiceVersion,
)
from workflows.apply.selectors.merged_form import (
    FieldSpec,
    MergedForm,
    group_form,
    issued_document_types,
    merged_form,
)
from workflows.apply.selectors.reuse import given_values, known_values, prefill_values, reusable_documents_by_type
from workflows.models import ApplicationGroup, GroupDocument

# --- What is still missing -------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    kind: str  # "field" | "material"
    label: str
    reason: str
    step: str  # "section-<n>" | "materials"
    anchor: str  # the input's HTML id


def section_index(form: MergedForm, spec: FieldSpec) -> int:
    return next(i for i, section in enumerate(form.sections, start=1) if section.key == spec.section_key)


def missing_items(
    *, form: MergedForm, data: Mapping[str, Any], attachments: Mapping[int, GroupDocument]
) -> list[Missing]:
    """Everything that stops submission: required answers not given, answers no longer valid,
    required documents not provided. In form order; conditions are evaluated on `data`."""
    missing: list[Missing] = []
    for spec in form.shown_fields(data):
        step = f"section-{section_index(form, spec)}"
        value = data.get(spec.key)
        if value in (None, "", []):
            if spec.required(data):
                missing.append(Missing("field", spec.element.label, _("Not answered yet"), step, f"id_{spec.name}"))
            continue
        try:
            validate_value(spec.element, value)
        except ValidationError as error:
            missing.append(Missing("field", spec.element.label, " ".join(error.messages), step, f"id_{spec.name}"))
    today = timezone.localdate()
    for material in form.shown_materials(data):
        attachment = attachments.get(material.document_type.pk)
        if attachment is not None and not document_is_usable(attachment.document, today):
            missing.append(
                Missing(
                    "material",
                    material.document_type.name,
                    _("The document you picked is no longer valid; pick or upload another"),
                    "materials",
                    material.name,
                )
            )
        elif attachment is None and material.required(data):
            missing.append(
                Missing("material", material.document_type.name, _("Not provided yet"), "materials", material.name)
            )
    return missing


def document_is_usable(document: Document, on_date: datetime.date) -> bool:
    """The same test as the vault's `reusable_documents`, on a document already loaded."""
    return (
        document.scan_status in USABLE_SCAN_STATUSES
        and (document.valid_from is None or document.valid_from <= on_date)
        and (document.valid_until is None or document.valid_until >= on_date)
    )


def attachments_by_type(group: ApplicationGroup) -> dict[int, GroupDocument]:
    return {attachment.document_type_id: attachment for attachment in group.documents.all()}


def group_missing(group: ApplicationGroup, form: MergedForm | None = None) -> list[Missing]:
    form = form or group_form(group)
    return missing_items(form=form, data=group.data, attachments=attachments_by_type(group))


# --- The "one time" figure ---------------------------------------------------------------------


@dataclass(frozen=True)
class OnceOnlyFigures:
    services: list[str]
    separate_fields: int  # the separate services' forms added up
    separate_materials: int
    merged_fields: int  # what the one merged form asks (not what the bundle produces)
    merged_materials: int
    to_type: int  # what this citizen still types
    to_upload: int  # what this citizen still uploads (no valid document in the vault)
    conditional_fields: int  # of merged_fields, asked only when a condition holds
    conditional_materials: int
    # Of what is still typed or uploaded: new facts the state cannot know (by label), and facts
    # a register holds or documents a department issues, typed or uploaded all the same (the
    # goal is none).
    new_facts: list[str] = field(default_factory=list)
    known_facts_typed: list[str] = field(default_factory=list)
    new_documents: list[str] = field(default_factory=list)
    known_documents_uploaded: list[str] = field(default_factory=list)
    # Of the merged form's questions, how many the state answers, by where the answer comes from:
    # "verified" (the verified profile and registers), "role" (the applicant is the mother...),
    # "derived" (worked out from another answer), "previous" (an earlier approved application);
    # and "bundle": asked by a service but produced by a sibling's approval.
    answered_by_state: dict[str, int] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)  # the role questions the figures answer yes


def once_only_figures(*, versions: list[ServiceVersion], user: User) -> OnceOnlyFigures:
    """Counts for `once_only_report`. Conditional questions and documents are counted as asked
    (the most a person can be asked); `conditional_*` says how many of them are conditional.

    The figures are for the person the form's roles name: every role question is answered yes
    ("I am the mother"), and counted among the new facts typed (only the applicant can say it).
    A typed answer is a *known* fact when its data element is held by a register (`held_by`);
    an uploaded document is *known* when a service of the catalogue issues its type."""
    form = merged_form(versions)
    known = known_values(user=user, keys=form.lookup_keys)
    data = prefill_values(user=user, form=form, known=known)
    role_questions = {role.question for role in form.roles}
    data.update(dict.fromkeys(role_questions, True))
    verified = {key: reuse.value for key, reuse in known.items() if reuse.is_verified}
    given = given_values(form=form, data=data, verified=verified)
    data.update({key: reuse.value for key, reuse in given.items()})
    asked_fields = form.asked_fields
    typed = [spec for spec in asked_fields if spec.key not in data or spec.key in role_questions]
    answered: dict[str, int] = {}
    for spec in asked_fields:
        if spec in typed:
            continue
        source = given[spec.key].kind if spec.key in given else known[spec.key].kind
        if spec.key in given and spec.role is not None:
            source = "role"
        answered[source] = answered.get(source, 0) + 1
    produced = sum(1 for spec in form.fields if spec.is_produced_in_bundle)
    if produced:
        answered["bundle"] = produced
    asked = form.asked_materials
    in_vault = reusable_documents_by_type(user=user, document_types=[m.document_type for m in asked])
    uploads = [m for m in asked if not in_vault.get(m.document_type.pk)]
    issued = state_issued_document_types()
    return OnceOnlyFigures(
        services=[str(v.service.name) for v in versions],
        separate_fields=form.separate_field_count,
        separate_materials=form.separate_material_count,
        merged_fields=len(asked_fields),
        merged_materials=len(asked),
        to_type=len(typed),
        to_upload=len(uploads),
        conditional_fields=sum(1 for spec in asked_fields if spec.is_conditional),
        conditional_materials=sum(1 for m in asked if all(o.when for o in m.occurrences if o.produced_by is None)),
        new_facts=[str(spec.element.label) for spec in typed if not spec.element.held_by],
        known_facts_typed=[str(spec.element.label) for spec in typed if spec.element.held_by],
        new_documents=[str(m.document_type.name) for m in uploads if m.code not in issued],
        known_documents_uploaded=[str(m.document_type.name) for m in uploads if m.code in issued],
        answered_by_state=answered,
        roles=[str(spec.element.label) for spec in asked_fields if spec.key in role_questions],
    )


def state_issued_document_types() -> set[str]:
    """Codes of the document types a published service issues: the state made them, so a copy
    belongs in the holder's vault, never in a new upload."""
    codes: set[str] = set()
    for version in ServiceVersion.objects.filter(status=ServiceVersion.Status.PUBLISHED).only("route"):
        codes |= issued_document_types(version)
    return codes
