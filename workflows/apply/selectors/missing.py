"""What a draft still lacks before it can be submitted, and the "one time" figure of a form."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
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
from workflows.apply.selectors.merged_form import FieldSpec, MergedForm, group_form, merged_form
from workflows.apply.selectors.reuse import prefill_values, reusable_documents_by_type
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
    merged_fields: int  # what the one merged form asks
    merged_materials: int
    to_type: int  # what this citizen still types (nothing known about it yet)
    to_upload: int  # what this citizen still uploads (no valid document in the vault)
    conditional_fields: int  # of merged_fields, asked only when a condition holds
    conditional_materials: int


def once_only_figures(*, versions: list[ServiceVersion], user: User) -> OnceOnlyFigures:
    """Counts for `once_only_report`. Conditional questions and documents are counted as asked
    (the most a person can be asked); `conditional_*` says how many of them are conditional."""
    form = merged_form(versions)
    known = prefill_values(user=user, form=form)
    asked = form.asked_materials
    in_vault = reusable_documents_by_type(user=user, document_types=[m.document_type for m in asked])
    return OnceOnlyFigures(
        services=[str(v.service.name) for v in versions],
        separate_fields=form.separate_field_count,
        separate_materials=form.separate_material_count,
        merged_fields=len(form.fields),
        merged_materials=len(asked),
        to_type=sum(1 for spec in form.fields if spec.key not in known),
        to_upload=sum(1 for m in asked if not in_vault.get(m.document_type.pk)),
        conditional_fields=sum(1 for spec in form.fields if spec.is_conditional),
        conditional_materials=sum(1 for m in asked if all(o.when for o in m.occurrences if o.produced_by is None)),
    )
