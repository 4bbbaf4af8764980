"""The merged form of a draft's pinned versions (DESIGN §3): each data element asked once, in the first
place a service asks it, and each document type once however many services need it."""

import datetime
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation

from accounts.assurance import Level
from services.conditions import evaluate
from services.models import (
    DataElement,
    DocumentType,
    FormField,
    LifeEvent,
    MaterialRequirement,
    Service,
    ServiceVersion,
)
from services.roles import Role, derivation_source, derive, parse_roles
from workflows.models import ApplicationGroup

# The form fields and materials of a published (or retired) version are frozen (model, queryset
# and database trigger), so each process keeps them once loaded. The data elements and document
# types they point to can still be edited in the admin (labels, validation): an entry is
# reloaded after this many seconds, so such an edit reaches every process within that time.
VERSION_PARTS_SECONDS = 60.0
VERSION_PARTS_MAX_ENTRIES = 512

# --- The merged form -----------------------------------------------------------------------


@dataclass
class Occurrence:
    """One service's use of an element or document type: its own required flag and condition."""

    service: Service
    required: bool
    when: Mapping[str, Any] | None
    # A material another service of the same bundle issues (the business licence a food permit
    # needs, in "open a restaurant"), or a datum another service's approval produces (the
    # licence's credit code): the bundle produces it, so the applicant is not asked.
    produced_by: Service | None = None

    def asked(self, data: Mapping[str, Any]) -> bool:
        return self.produced_by is None and evaluate(self.when, data)


@dataclass
class FieldSpec:
    element: DataElement
    section_key: str
    section: str
    occurrences: list[Occurrence] = field(default_factory=list)
    # Who the element is about, when a version declares its prefix as a role (mother.*).
    role: Role | None = None
    # The element it can be worked out from (father.age ← father.date_of_birth), if any.
    derived_from: str | None = None

    @property
    def key(self) -> str:
        return self.element.key

    @property
    def is_produced_in_bundle(self) -> bool:
        """Every service that uses it takes it from a sibling's approval: never asked."""
        return all(o.produced_by is not None for o in self.occurrences)

    def is_bound(self, data: Mapping[str, Any]) -> bool:
        """Its value is the verified one, never typed: an identity element, or the element of a
        role the applicant said they hold ("I am the mother")."""
        return self.element.bound or (self.role is not None and self.role.holds(data))

    def is_derived(self, data: Mapping[str, Any]) -> bool:
        """Worked out from an answer already given (a date of birth from a resident ID number)."""
        return self.derived_from is not None and derive(self.key, data) is not None

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
        return not self.is_derived(data) and any(o.asked(data) for o in self.occurrences)

    def required(self, data: Mapping[str, Any]) -> bool:
        return not self.is_derived(data) and any(o.required and o.asked(data) for o in self.occurrences)


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
    def asked_fields(self) -> list[FieldSpec]:
        """The fields the merged form may ask (whatever the conditions): not produced in the bundle."""
        return [spec for spec in self.fields if not spec.is_produced_in_bundle]

    @property
    def roles(self) -> list[Role]:
        """The roles of the form, each once (by the prefix they are about)."""
        return list({spec.role.about: spec.role for spec in self.fields if spec.role is not None}.values())

    @property
    def lookup_keys(self) -> list[str]:
        """The keys whose verified values the form may use: its own, and those its roles take
        their values from (person.full_name for mother.full_name)."""
        keys = [spec.key for spec in self.fields]
        keys += [spec.role.source_key(spec.key) for spec in self.fields if spec.role is not None]
        return list(dict.fromkeys(keys))

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
        _forms_cache.clear()


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


# Merged forms of published versions, by the versions and the language of their section titles,
# each kept with the version parts it was built from: when those parts are read again (they
# expire, VERSION_PARTS_SECONDS), the form is built again from the new ones.
_forms_cache: dict[tuple[Any, ...], tuple[tuple[VersionParts, ...], "MergedForm"]] = {}


def merged_form(versions: Iterable[ServiceVersion]) -> MergedForm:
    """The union of the versions' forms and materials: each element and document type once.

    `versions` must be in the order the services should be asked (see `ordered_versions`);
    an element sits in the section of the first service that asks it. Built from the cached
    version parts; for published versions the form itself is kept per process and language
    (a request builds or checks it several times), and callers only read it. A form with a
    draft version is built afresh every time.
    """
    versions = list(versions)
    parts = version_parts(versions)
    if any(version.status == ServiceVersion.Status.DRAFT for version in versions):
        return _merged_form_build(versions, parts)
    key = (tuple((version.pk, version.published_at) for version in versions), translation.get_language())
    used = tuple(parts[version.pk] for version in versions)
    cached = _forms_cache.get(key)
    if cached is not None and all(a is b for a, b in zip(cached[0], used, strict=True)):
        return cached[1]
    form = _merged_form_build(versions, parts)
    with _parts_lock:
        if len(_forms_cache) >= VERSION_PARTS_MAX_ENTRIES:
            _forms_cache.clear()
        _forms_cache[key] = (used, form)
    return form


def _merged_form_build(versions: list[ServiceVersion], parts: dict[int, VersionParts]) -> MergedForm:
    sections: dict[str, Section] = {}
    specs: dict[str, FieldSpec] = {}
    materials: dict[int, MaterialSpec] = {}
    issuers: dict[str, Service] = {}
    producers: dict[str, Service] = {}
    roles: dict[str, Role] = {}
    for version in versions:
        for code in issued_document_types(version):
            issuers.setdefault(code, version.service)
        for key in version.produces or []:
            producers.setdefault(str(key), version.service)
        for role in parse_roles(version.roles):
            roles.setdefault(role.about, role)
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
                    element=form_field.element,
                    section_key=section.key,
                    section=section.title,
                    role=roles.get(key.split(".", 1)[0]),
                    # Identity elements come from the verified identity whatever they derive from.
                    derived_from=None if form_field.element.bound else derivation_source(key),
                )
                section.fields.append(spec)
            producer = producers.get(key)
            produced_by = producer if producer is not None and producer.pk != version.service_id else None
            spec.occurrences.append(Occurrence(version.service, form_field.required, form_field.when, produced_by))
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


def needed_assurance(versions: Iterable[ServiceVersion]) -> Level:
    """The sign-in level a draft of `versions` needs: the highest any of them asks."""
    return max((Level(v.minimum_assurance) for v in versions), key=lambda level: level.rank, default=Level.LOW)


def stale_versions(group: ApplicationGroup) -> list[ServiceVersion]:
    """Pinned versions that are no longer the published one (retired since the draft began)."""
    return [v for v in group.versions.all() if v.status != ServiceVersion.Status.PUBLISHED]
