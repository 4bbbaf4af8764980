"""Reads for applying once: the applicant's drafts (scoped: others get 404), the merged form of
a draft's pinned versions, what is reused from the profile and earlier applications, and what
is still missing.

The merged form is the heart of "one time" (DESIGN §3): the union of the pinned versions'
form fields, each data element asked once (in the first place a service asks it), and each
document type asked once however many services need it.
"""

import datetime
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User, VerifiedAttribute
from documents.models import Document
from documents.selectors import reusable_documents
from services.conditions import evaluate
from services.elements import validate_value
from services.models import (
    DataElement,
    DocumentType,
    FormField,
    LifeEvent,
    MaterialRequirement,
    Service,
    ServiceVersion,
)
from workflows.models import Application, ApplicationGroup, GroupDocument

# How many of the applicant's latest approved applications are looked at for reusable values.
PREVIOUS_APPLICATIONS_LOOKED_AT = 20

# The form fields and materials of a published (or retired) version are frozen (model, queryset
# and database trigger), so each process keeps them once loaded. The data elements and document
# types they point to can still be edited in the admin (labels, validation): an entry is
# reloaded after this many seconds, so such an edit reaches every process within that time.
VERSION_PARTS_SECONDS = 60.0
VERSION_PARTS_MAX_ENTRIES = 512


# --- Drafts and groups, scoped to their applicant --------------------------------------------


def groups_for_user(*, user: User) -> QuerySet[ApplicationGroup]:
    """Every draft and submitted group of `user` (and nobody else's), newest first."""
    if not user.is_authenticated:
        return ApplicationGroup.objects.none()
    return (
        ApplicationGroup.objects.filter(applicant=user)
        .select_related("life_event", "organisation")
        .prefetch_related(
            Prefetch("versions", queryset=ServiceVersion.objects.select_related("service")),
            Prefetch("applications", queryset=Application.objects.select_related("service").order_by("number")),
        )
        .order_by("-updated_at", "-pk")
    )


def organisation_groups_for_user(*, user: User) -> QuerySet[ApplicationGroup]:
    """Submitted applications that colleagues made for the organisations `user` represents."""
    if not user.is_authenticated:
        return ApplicationGroup.objects.none()
    return (
        ApplicationGroup.objects.filter(organisation__in=user.organisations.values("pk"), submitted_at__isnull=False)
        .exclude(applicant=user)
        .select_related("organisation", "applicant", "life_event")
        .prefetch_related(
            Prefetch("applications", queryset=Application.objects.select_related("service").order_by("number"))
        )
        .order_by("-submitted_at", "-pk")[:50]
    )


def group_load_related(group: ApplicationGroup, *, new: bool = False) -> ApplicationGroup:
    """Loads onto `group` what its pages and the API need: the pinned versions with their
    services, the attached documents, the applications (a draft has none: not queried), and
    the life event's order of services. `new`: a group just created has no documents either.

    One plain query per relation, kept as `prefetch_related` would keep it (for one group the
    prefetch machinery costs more than the queries themselves)."""
    for name in ("versions", "documents", "applications"):
        getattr(group, "_prefetched_objects_cache", {}).pop(name, None)
    # The versions' fields and materials come from `version_parts` (kept: published versions are frozen).
    _related_known(group, "versions", group.versions.select_related("service__lead_department"))
    _related_known(group, "documents", [] if new else group.documents.select_related("document", "document_type"))
    applications = (
        []
        if group.is_draft
        else group.applications.select_related("service__lead_department", "service_version").order_by("number")
    )
    _related_known(group, "applications", applications)
    if group.life_event is not None:
        prefetch_related_objects([group.life_event], "entries")
    return group


def _related_known(instance: Any, name: str, objects: Iterable[Any]) -> None:
    """Stores `objects` as what `instance.<name>.all()` returns, exactly as `prefetch_related`
    would, for rows the caller already holds (no query)."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache.pop(name, None)
    queryset = getattr(instance, name).get_queryset()  # lazy: not run
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    cache[name] = queryset


def group_load_new(group: ApplicationGroup, *, versions: Iterable[ServiceVersion]) -> ApplicationGroup:
    """`group_load_related` for a group just created with these pinned versions: nothing to
    read back (no documents, no applications yet) except a life event's order of services."""
    _related_known(group, "versions", versions)
    _related_known(group, "documents", [])
    _related_known(group, "applications", [])
    if group.life_event is not None:
        prefetch_related_objects([group.life_event], "entries")
    return group


def group_documents_reload(group: ApplicationGroup) -> None:
    """After attaching or detaching: the group's documents as they are now."""
    getattr(group, "_prefetched_objects_cache", {}).pop("documents", None)
    _related_known(group, "documents", group.documents.select_related("document", "document_type"))


def group_documents_replace(group: ApplicationGroup, attachment: GroupDocument) -> None:
    """After attaching under the group's lock: its loaded documents with `attachment` in place
    of any earlier one of the same type (nobody else changes them while the lock is held)."""
    kept = [a for a in group.documents.all() if a.document_type_id != attachment.document_type_id]
    _related_known(group, "documents", [*kept, attachment])


def group_for_user(*, user: User, group_id: int | str, for_update: bool = False) -> ApplicationGroup:
    """One group of `user` with what its pages need; Http404 for anyone else or a malformed id.

    `for_update` locks the group row (only that row) and reads the related rows after the lock
    is held, so they are the ones the lock protects.
    """
    if not user.is_authenticated:
        raise Http404
    try:
        pk = int(group_id)
    except (TypeError, ValueError):
        raise Http404 from None
    queryset = ApplicationGroup.objects.filter(applicant=user, pk=pk).select_related("life_event", "organisation")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    group = queryset.first()
    if group is None:
        raise Http404
    group.applicant = user  # it is theirs: no query when a page asks for the applicant
    return group_load_related(group)


def open_draft_for(*, user: User, service: Service | None = None, life_event: LifeEvent | None = None):
    """The applicant's latest unsubmitted draft for this service or life event, if any."""
    drafts = ApplicationGroup.objects.filter(applicant=user, submitted_at__isnull=True)
    if life_event is not None:
        drafts = drafts.filter(life_event=life_event)
    else:
        drafts = drafts.filter(life_event__isnull=True, versions__service=service)
    return drafts.order_by("-updated_at").first()


# --- The merged form -----------------------------------------------------------------------


@dataclass
class Occurrence:
    """One service's use of an element or document type: its own required flag and condition."""

    service: Service
    required: bool
    when: Mapping[str, Any] | None
    # A material another service of the same bundle issues (the business licence a food permit
    # needs, in "open a restaurant"): the bundle produces it, so the applicant is not asked.
    produced_by: Service | None = None

    def asked(self, data: Mapping[str, Any]) -> bool:
        return self.produced_by is None and evaluate(self.when, data)


@dataclass
class FieldSpec:
    element: DataElement
    section_key: str
    section: str
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.element.key

    @property
    def name(self) -> str:
        """The HTML form name: element keys carry dots, which CSS selectors and ids dislike."""
        return self.element.key.replace(".", "__")

    @property
    def services(self) -> list[Service]:
        return [o.service for o in self.occurrences]

    @property
    def is_conditional(self) -> bool:
        return all(o.when for o in self.occurrences)

    def shown(self, data: Mapping[str, Any]) -> bool:
        return any(evaluate(o.when, data) for o in self.occurrences)

    def required(self, data: Mapping[str, Any]) -> bool:
        return any(o.required and evaluate(o.when, data) for o in self.occurrences)


@dataclass
class MaterialSpec:
    document_type: DocumentType
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.document_type.code

    @property
    def name(self) -> str:
        return "material__" + self.document_type.code.replace("-", "_")

    @property
    def services(self) -> list[Service]:
        return [o.service for o in self.occurrences]

    @property
    def produced_by(self) -> list[Service]:
        return [o.produced_by for o in self.occurrences if o.produced_by is not None]

    @property
    def is_produced_in_bundle(self) -> bool:
        return all(o.produced_by is not None for o in self.occurrences)

    def shown(self, data: Mapping[str, Any]) -> bool:
        return any(o.asked(data) for o in self.occurrences)

    def required(self, data: Mapping[str, Any]) -> bool:
        return any(o.required and o.asked(data) for o in self.occurrences)


@dataclass
class Section:
    key: str
    title: str
    fields: list[FieldSpec]

    def shown_fields(self, data: Mapping[str, Any]) -> list[FieldSpec]:
        return [spec for spec in self.fields if spec.shown(data)]


@dataclass
class MergedForm:
    versions: list[ServiceVersion]
    sections: list[Section]
    materials: list[MaterialSpec]

    @property
    def fields(self) -> list[FieldSpec]:
        return [spec for section in self.sections for spec in section.fields]

    def field(self, key: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.key == key), None)

    def shown_fields(self, data: Mapping[str, Any]) -> list[FieldSpec]:
        return [spec for spec in self.fields if spec.shown(data)]

    def shown_materials(self, data: Mapping[str, Any]) -> list[MaterialSpec]:
        return [spec for spec in self.materials if spec.shown(data)]

    @property
    def separate_field_count(self) -> int:
        """Fields of the separate services' forms added up (an element asked by two services counts twice)."""
        return sum(len(spec.occurrences) for spec in self.fields)

    @property
    def separate_material_count(self) -> int:
        return sum(len(spec.occurrences) for spec in self.materials)

    @property
    def asked_materials(self) -> list[MaterialSpec]:
        """The materials the merged form may ask (whatever the conditions): not produced in the bundle."""
        return [spec for spec in self.materials if not spec.is_produced_in_bundle]


def issued_document_types(version: ServiceVersion) -> set[str]:
    """Codes of the document types a version's route issues (its `issue` steps)."""
    steps = (version.route or {}).get("steps", []) if isinstance(version.route, dict) else []
    return {str(s.get("document_type")) for s in steps if isinstance(s, dict) and s.get("kind") == "issue"}


def ordered_versions(versions: Iterable[ServiceVersion], life_event: LifeEvent | None) -> list[ServiceVersion]:
    """A group's versions in the life event's order (a single service: just that one)."""
    versions = list(versions)
    if life_event is None:
        return sorted(versions, key=lambda v: v.service.code)
    order = {entry.service_id: entry.order for entry in life_event.entries.all()}
    return sorted(versions, key=lambda v: (order.get(v.service_id, 1_000_000), v.service.code))


@dataclass(frozen=True)
class VersionParts:
    """A version's form fields (with their data elements) and materials (with their document types)."""

    fields: tuple[FormField, ...]
    materials: tuple[MaterialRequirement, ...]


_parts_cache: dict[tuple[int, datetime.datetime | None], tuple[float, VersionParts]] = {}
_parts_lock = threading.Lock()


def version_parts_cache_clear() -> None:
    with _parts_lock:
        _parts_cache.clear()


def _load_parts(version_ids: list[int]) -> dict[int, VersionParts]:
    fields: dict[int, list[FormField]] = {pk: [] for pk in version_ids}
    materials: dict[int, list[MaterialRequirement]] = {pk: [] for pk in version_ids}
    for form_field in FormField.objects.filter(version_id__in=version_ids).select_related("element"):
        fields[form_field.version_id].append(form_field)
    for requirement in MaterialRequirement.objects.filter(version_id__in=version_ids).select_related("document_type"):
        materials[requirement.version_id].append(requirement)
    return {pk: VersionParts(tuple(fields[pk]), tuple(materials[pk])) for pk in version_ids}


def _draft_parts(version: ServiceVersion) -> VersionParts:
    prefetched = getattr(version, "_prefetched_objects_cache", {})
    fields = prefetched["fields"] if "fields" in prefetched else version.fields.select_related("element")
    materials = (
        prefetched["materials"] if "materials" in prefetched else version.materials.select_related("document_type")
    )
    return VersionParts(tuple(fields), tuple(materials))


def version_parts(versions: Iterable[ServiceVersion]) -> dict[int, VersionParts]:
    """The form fields and materials of each version, by version id.

    Published and retired versions come from the process's cache (two queries for all the ones
    not in it yet); a draft version is read every time (it is being edited), from its prefetched
    `fields` / `materials` when the caller loaded them.
    """
    parts: dict[int, VersionParts] = {}
    missing: list[ServiceVersion] = []
    now = time.monotonic()
    for version in versions:
        if version.status == ServiceVersion.Status.DRAFT:
            parts[version.pk] = _draft_parts(version)
            continue
        # published_at is part of the key so a version id reused by a recreated test database
        # is never mistaken for another version.
        entry = _parts_cache.get((version.pk, version.published_at))
        if entry is not None and entry[0] > now:
            parts[version.pk] = entry[1]
        else:
            missing.append(version)
    if missing:
        loaded = _load_parts([version.pk for version in missing])
        expires = now + VERSION_PARTS_SECONDS
        with _parts_lock:
            if len(_parts_cache) + len(missing) > VERSION_PARTS_MAX_ENTRIES:
                _parts_cache.clear()
            for version in missing:
                _parts_cache[(version.pk, version.published_at)] = (expires, loaded[version.pk])
        parts.update(loaded)
    return parts


def merged_form(versions: Iterable[ServiceVersion]) -> MergedForm:
    """The union of the versions' forms and materials: each element and document type once.

    `versions` must be in the order the services should be asked (see `ordered_versions`);
    an element sits in the section of the first service that asks it. Built afresh on every
    call (cheap, and section titles follow the active language) from the cached version parts.
    """
    versions = list(versions)
    parts = version_parts(versions)
    sections: dict[str, Section] = {}
    specs: dict[str, FieldSpec] = {}
    materials: dict[int, MaterialSpec] = {}
    issuers: dict[str, Service] = {}
    for version in versions:
        for code in issued_document_types(version):
            issuers.setdefault(code, version.service)
    for version in versions:
        for form_field in parts[version.pk].fields:
            key = form_field.element.key
            spec = specs.get(key)
            if spec is None:
                section = sections.get(form_field.section_en)
                if section is None:
                    section = sections[form_field.section_en] = Section(
                        key=form_field.section_en, title=form_field.section, fields=[]
                    )
                spec = specs[key] = FieldSpec(
                    element=form_field.element, section_key=section.key, section=section.title
                )
                section.fields.append(spec)
            spec.occurrences.append(Occurrence(version.service, form_field.required, form_field.when))
        for requirement in parts[version.pk].materials:
            material = materials.get(requirement.document_type_id)
            if material is None:
                material = materials[requirement.document_type_id] = MaterialSpec(requirement.document_type)
            issuer = issuers.get(requirement.document_type.code)
            produced_by = issuer if issuer is not None and issuer.pk != version.service_id else None
            material.occurrences.append(
                Occurrence(version.service, requirement.required, requirement.when, produced_by)
            )
    return MergedForm(versions=versions, sections=list(sections.values()), materials=list(materials.values()))


def group_form(group: ApplicationGroup) -> MergedForm:
    return merged_form(ordered_versions(group.versions.all(), group.life_event))


def stale_versions(group: ApplicationGroup) -> list[ServiceVersion]:
    """Pinned versions that are no longer the published one (retired since the draft began)."""
    return [v for v in group.versions.all() if v.status != ServiceVersion.Status.PUBLISHED]


# --- Reuse: the verified profile and earlier approved applications ---------------------------


@dataclass(frozen=True)
class Reuse:
    """A value the state already knows: verified (identity) or from an earlier approved application."""

    kind: str  # "verified" | "previous"
    value: Any
    reference: str = ""  # the earlier application's number

    @property
    def is_verified(self) -> bool:
        return self.kind == "verified"


def organisation_register_values(organisation: Organisation | None) -> dict[str, Any]:
    """What the business register says about an organisation, by data-element key."""
    return {"business.name": organisation.name} if organisation is not None else {}


def known_values(
    *,
    user: User,
    keys: Iterable[str],
    organisation: Organisation | None = None,
    verified: Mapping[str, Any] | None = None,
) -> dict[str, Reuse]:
    """What the state already knows for these element keys. Verified values win.

    For an application on behalf of an organisation, the register's values about it count as
    verified, and earlier approved applications are the organisation's (whoever made them);
    otherwise they are the person's own. `verified`: what `verified_values` answered for
    these keys, when the caller has it already.
    """
    keys = set(keys)
    if not keys:
        return {}
    if verified is None:
        verified = verified_values(user=user, keys=keys, organisation=organisation)
    known = {key: Reuse("verified", value) for key, value in verified.items() if key in keys}
    approved = Application.objects.filter(status=Application.Status.APPROVED)
    if organisation is not None:
        approved = approved.filter(group__organisation=organisation)
    else:
        approved = approved.filter(applicant=user, group__organisation__isnull=True)
    earlier = approved.order_by("-decided_at", "-pk")[:PREVIOUS_APPLICATIONS_LOOKED_AT]
    for application in earlier.only("number", "data"):
        for key, value in (application.data or {}).items():
            if key in keys and key not in known and value not in (None, "", []):
                known[key] = Reuse("previous", value, application.number)
    return known


def group_verified_values(group: ApplicationGroup, form: MergedForm) -> dict[str, Any]:
    """`verified_values` for a group's applicant and form, read once per loaded group (saving
    answers compares them, and the response shows them again through `group_known_values`)."""
    memo: dict[str, Any] | None = group.__dict__.get("_verified_values")
    if memo is None:
        memo = group.__dict__["_verified_values"] = verified_values(
            user=group.applicant, keys=[spec.key for spec in form.fields], organisation=group.organisation
        )
    return memo


def group_known_values(group: ApplicationGroup, form: MergedForm) -> dict[str, Reuse]:
    """`known_values` for a group's applicant and form, read once per loaded group (starting a
    draft reads them to prefill it, and its response shows them again)."""
    memo: dict[str, Reuse] | None = group.__dict__.get("_known_values")
    if memo is None:
        memo = group.__dict__["_known_values"] = known_values(
            user=group.applicant,
            keys=[spec.key for spec in form.fields],
            organisation=group.organisation,
            verified=group.__dict__.get("_verified_values"),
        )
    return memo


def group_known_values_keep(group: ApplicationGroup, known: dict[str, Reuse]) -> None:
    """Keeps `known` (read for all of the group's form keys) as `group_known_values` answers it."""
    group.__dict__["_known_values"] = known


def prefill_values(*, user: User, form: MergedForm, known: Mapping[str, Reuse] | None = None) -> dict[str, Any]:
    """What a new draft starts with: the known values, cleaned as the form would clean them.
    An old value that no longer passes the element's validation is not offered."""
    data: dict[str, Any] = {}
    if known is None:
        known = known_values(user=user, keys=[spec.key for spec in form.fields])
    for spec in form.fields:
        reuse = known.get(spec.key)
        if reuse is None:
            continue
        try:
            value = validate_value(spec.element, reuse.value)
        except ValidationError:
            continue
        if value is not None:
            data[spec.key] = value
    return data


def verified_values(*, user: User, keys: Iterable[str], organisation: Organisation | None = None) -> dict[str, Any]:
    keys = set(keys)
    found = {a.element_key: a.value for a in VerifiedAttribute.objects.filter(user=user, element_key__in=keys)}
    found.update({k: v for k, v in organisation_register_values(organisation).items() if k in keys})
    return found


def reusable_documents_by_type(*, user: User, document_types: Iterable[DocumentType]) -> dict[int, list[Document]]:
    return {dt.pk: list(reusable_documents(user=user, document_type=dt)) for dt in document_types}


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
        document.scan_status == Document.ScanStatus.CLEAN
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
