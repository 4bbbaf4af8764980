"""Seeds the service catalogue from catalogue.yaml (DESIGN §10).

The catalogue is data so that the administrators of a new deployment can read and change it
without reading Python; this module checks it and turns it into rows. Idempotent: a second run
changes nothing. Every version is published through `services.actions.version_publish`, so the
demo passes the same validation as an administrator's work. Automatic steps need the engine's
handlers (workflows/engine/handlers.py): if they are not registered, seeding stops with an error
naming them. A slip in the file (unknown key, undefined reference, decimal not in quotes) is a
CatalogueError saying where, before anything is written.
"""

import copy
from collections.abc import Container
from dataclasses import MISSING, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from accounts.models import Department
from services import registry
from services.actions import PublishRefused, catalogue_change_record, version_publish
from services.models import (
    CatalogueChange,
    DataElement,
    DocumentType,
    Fee,
    FormField,
    LifeEvent,
    LifeEventService,
    MaterialRequirement,
    OfferRule,
    OfferRuleService,
    SearchSynonym,
    Service,
    ServiceVersion,
)
from services.offer_rules import offer_triggers_forget
from services.routes import RouteStep

# Read from the package directory, so it is found wherever the code is installed.
CATALOGUE = Path(__file__).parent / "catalogue.yaml"
SYNONYMS = Path(__file__).parent / "synonyms.yaml"

Entry = dict[str, Any]
REQUIRED = object()
OPTIONAL = object()  # allowed, and stored only as written


class CatalogueError(ValueError):
    """catalogue.yaml does not have the shape the loader expects."""


def _shape(required_keys: str, /, **defaults: object) -> dict[str, object]:
    return {**dict.fromkeys(required_keys.split(), REQUIRED), **defaults}


# The keys each kind of entry takes, with the default of each optional one.
SHAPES = {
    "catalogue": _shape("elements document_types services", sections={}, life_events=[], offer_rules=[]),
    "section": _shape("name_en name_zh"),
    "element": _shape(
        "key kind label_en label_zh sensitivity",
        **dict.fromkeys(("min_length", "max_length", "min_value", "max_value")),
        help_en="",
        help_zh="",
        choices=[],
        bound=False,
        held_by="",
        pattern="",
    ),
    "document_type": _shape(
        "code name_en name_zh allowed_content_types", validity_days=None, max_pages=100, max_image_side=8000
    ),
    "service": _shape(
        "code department category name_en name_zh summary_en summary_zh tags version", online=True, at_counter=True
    ),
    "version": _shape(
        "time_limit_days fields route",
        materials=[],
        fees=[],
        eligibility=[],
        minimum_assurance="low",
        roles=[],
        produces=[],
    ),
    "field": _shape("element section", required=True, when=None),
    "material": _shape("document_type", required=True, when=None),
    "fee": _shape(
        "label_en label_zh amount", per_unit="", exempt_when=None, refund_on_withdrawal=True, refund_on_rejection=False
    ),
    # Eligibility rules and route steps are JSON on the version, kept as written.
    "rule": _shape("when", reason_en=OPTIONAL, reason_zh=OPTIONAL),
    "step": {
        f.name: REQUIRED if f.default is MISSING and f.default_factory is MISSING else OPTIONAL
        for f in fields(RouteStep)
    },
    "life_event": _shape("code name_en name_zh summary_en summary_zh services"),
    "synonym": _shape("term means"),
    "offer_rule": _shape("code name_en name_zh trigger_service offers", days_to_respond=30),
    "offer": _shape("service", grant_without_request=False),
}
# The parts of a version, and the shape of each of their entries.
PARTS = {"fields": "field", "materials": "material", "fees": "fee", "eligibility": "rule", "route": "step"}
# Exact decimals: written in quotes in the YAML (a float would not be exact).
DECIMALS = frozenset({"min_value", "max_value", "amount"})


def _decimal(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CatalogueError(f"{where}: write {value!r} in quotes, e.g. '9.00', so it stays exact")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CatalogueError(f"{where}: {value!r} is not a number") from None


def _entry(raw: object, shape: str, where: str) -> Entry:
    """The entry with its defaults filled in and its decimals exact; an empty value counts as left out."""
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: expected keys and values, found {raw!r}")
    keys = SHAPES[shape]
    given = {key: value for key, value in raw.items() if value is not None}
    problems = [f"missing {key!r}" for key, default in keys.items() if default is REQUIRED and key not in given]
    problems += [f"unknown key {key!r}" for key in raw if key not in keys]
    if problems:
        raise CatalogueError(f"{where}: {', '.join(problems)}")
    entry = {key: copy.deepcopy(default) for key, default in keys.items() if default not in (REQUIRED, OPTIONAL)}
    entry.update({key: _decimal(value, f"{where}.{key}") if key in DECIMALS else value for key, value in given.items()})
    return entry


def _entries(raw: object, shape: str, where: str) -> list[Entry]:
    if not isinstance(raw, list):
        raise CatalogueError(f"{where}: expected a list, found {raw!r}")
    return [_entry(item, shape, f"{where}[{position}]") for position, item in enumerate(raw)]


def _refer(name: object, known: Container[str], what: str, where: str) -> None:
    if name not in known:
        raise CatalogueError(f"{where}: no {what} {name!r} in the catalogue")


def catalogue_read(path: Path = CATALOGUE) -> Entry:
    """The catalogue, checked: every entry with its defaults, decimals exact, references defined,
    and each form field with its section's names (section_en, section_zh) as on FormField."""
    catalogue = _entry(yaml.safe_load(path.read_text(encoding="utf-8")), "catalogue", path.name)
    if not isinstance(catalogue["sections"], dict):
        raise CatalogueError(f"sections: expected names and sections, found {catalogue['sections']!r}")
    catalogue["sections"] = {
        name: _entry(raw, "section", f"sections.{name}") for name, raw in catalogue["sections"].items()
    }
    for name, shape in (("elements", "element"), ("document_types", "document_type"), ("services", "service")):
        catalogue[name] = _entries(catalogue[name], shape, name)
    catalogue["life_events"] = _entries(catalogue["life_events"], "life_event", "life_events")
    elements = {entry["key"] for entry in catalogue["elements"]}
    types = {entry["code"] for entry in catalogue["document_types"]}
    for service in catalogue["services"]:
        where = f"services[{service['code']}].version"
        version = service["version"] = _entry(service["version"], "version", where)
        for part, shape in PARTS.items():
            version[part] = _entries(version[part], shape, f"{where}.{part}")
        for position, field in enumerate(version["fields"]):
            _refer(field["element"], elements, "data element", f"{where}.fields[{position}]")
            _refer(field["section"], catalogue["sections"], "section", f"{where}.fields[{position}]")
            section = catalogue["sections"][field.pop("section")]
            field.update(section_en=section["name_en"], section_zh=section["name_zh"])
        for position, material in enumerate(version["materials"]):
            _refer(material["document_type"], types, "document type", f"{where}.materials[{position}]")
    codes = {service["code"] for service in catalogue["services"]}
    for life_event in catalogue["life_events"]:
        for code in life_event["services"]:
            _refer(code, codes, "service", f"life_events[{life_event['code']}].services")
    catalogue["offer_rules"] = _entries(catalogue["offer_rules"], "offer_rule", "offer_rules")
    for rule in catalogue["offer_rules"]:
        where = f"offer_rules[{rule['code']}]"
        _refer(rule["trigger_service"], codes, "service", f"{where}.trigger_service")
        rule["offers"] = _entries(rule["offers"], "offer", f"{where}.offers")
        for position, offer in enumerate(rule["offers"]):
            _refer(offer["service"], codes, "service", f"{where}.offers[{position}]")
            if offer["service"] == rule["trigger_service"]:
                raise CatalogueError(f"{where}.offers[{position}]: a rule cannot offer its own trigger service")
    return catalogue


def _columns(entry: Entry, *not_columns: str) -> Entry:
    """The entry's values that the model stores under the same names."""
    return {name: value for name, value in entry.items() if name not in not_columns}


def _seed_elements(entries: list[Entry]) -> dict[str, DataElement]:
    elements = {}
    for entry in entries:
        element, _ = DataElement.objects.update_or_create(key=entry["key"], defaults=_columns(entry, "key"))
        elements[element.key] = element
    return elements


def _seed_document_types(entries: list[Entry]) -> dict[str, DocumentType]:
    types = {}
    for entry in entries:
        document_type, _ = DocumentType.objects.update_or_create(code=entry["code"], defaults=_columns(entry, "code"))
        types[document_type.code] = document_type
    return types


def _missing_handlers(services: list[Entry]) -> list[str]:
    steps = [step for service in services for step in service["version"]["route"]]
    needed = {step["handler"] for step in steps if step["kind"] == "automatic" and step.get("handler")}
    return sorted(name for name in needed if not registry.is_registered(name))


def _seed_service(spec: Entry, elements: dict[str, DataElement], types: dict[str, DocumentType]) -> Service:
    service, created = Service.objects.update_or_create(
        code=spec["code"],
        defaults={
            **_columns(spec, "code", "department", "tags", "version"),
            "lead_department": Department.objects.get(code=spec["department"]),
            "life_situations": spec["tags"],
        },
    )
    if created:
        catalogue_change_record(actor=None, obj=service, action=CatalogueChange.Action.CREATED)
    if service.versions.filter(status=ServiceVersion.Status.PUBLISHED).exists():
        return service  # already published: a second run changes nothing
    service.versions.filter(status=ServiceVersion.Status.DRAFT).delete()
    number = (service.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    parts = spec["version"]
    version = ServiceVersion.objects.create(
        service=service,
        number=number,
        time_limit_days=parts["time_limit_days"],
        minimum_assurance=parts["minimum_assurance"],
        eligibility=parts["eligibility"],
        roles=parts["roles"],
        produces=parts["produces"],
        route={"steps": parts["route"]},
    )
    for order, field in enumerate(parts["fields"]):
        FormField.objects.create(version=version, order=order, **{**field, "element": elements[field["element"]]})
    for order, material in enumerate(parts["materials"]):
        document_type = types[material["document_type"]]
        MaterialRequirement.objects.create(version=version, order=order, **{**material, "document_type": document_type})
    for fee in parts["fees"]:
        Fee.objects.create(version=version, **fee)
    try:
        version_publish(version=version, actor=None)
    except PublishRefused as refused:
        raise RuntimeError(
            f"demo service {spec['code']} does not pass publish validation: {refused.messages}"
        ) from None
    return service


@transaction.atomic
def seed_catalogue() -> list[str]:
    """Seeds the demo catalogue (departments must exist: accounts.demo.seed_departments)."""
    catalogue = catalogue_read()
    missing = _missing_handlers(catalogue["services"])
    if missing:
        raise RuntimeError(
            "The demo catalogue needs the department handlers "
            + ", ".join(missing)
            + " (workflows/engine/handlers.py, registered when the workflows app loads). "
            "They are not registered, so nothing was seeded."
        )
    elements = _seed_elements(catalogue["elements"])
    types = _seed_document_types(catalogue["document_types"])
    services = {spec["code"]: _seed_service(spec, elements, types) for spec in catalogue["services"]}
    for spec in catalogue["life_events"]:
        life_event, created = LifeEvent.objects.update_or_create(
            code=spec["code"], defaults=_columns(spec, "code", "services")
        )
        if created:
            catalogue_change_record(actor=None, obj=life_event, action=CatalogueChange.Action.CREATED)
        for order, code in enumerate(spec["services"]):
            LifeEventService.objects.update_or_create(
                life_event=life_event, service=services[code], defaults={"order": order}
            )
    synonyms = _seed_synonyms()
    rules = _seed_offer_rules(catalogue["offer_rules"], services)
    return [
        f"Catalogue: {len(services)} services, {len(catalogue['life_events'])} life events, "
        f"{len(elements)} data elements, {len(types)} document types, {synonyms} search synonyms, "
        f"{rules} proactive offer rules"
    ]


def _seed_offer_rules(entries: list[Entry], services: dict[str, Service]) -> int:
    """The demo's proactive offer rules; one that already exists (perhaps changed by an
    administrator since) is left as it is."""
    for entry in entries:
        rule, created = OfferRule.objects.get_or_create(
            code=entry["code"],
            defaults={
                **_columns(entry, "code", "trigger_service", "offers"),
                "trigger_service": services[entry["trigger_service"]],
            },
        )
        if not created:
            continue
        catalogue_change_record(actor=None, obj=rule, action=CatalogueChange.Action.CREATED)
        for order, offer in enumerate(entry["offers"]):
            OfferRuleService.objects.create(
                rule=rule,
                service=services[offer["service"]],
                grant_without_request=offer["grant_without_request"],
                order=order,
            )
    # The notification task reads the rules again: now, and once this transaction commits
    # (a task that read them meanwhile may have cached what it saw before).
    offer_triggers_forget()
    transaction.on_commit(offer_triggers_forget)
    return len(entries)


def _seed_synonyms(path: Path = SYNONYMS) -> int:
    """The demo's search synonyms; one an administrator has changed since is left as it is."""
    entries = _entries(yaml.safe_load(path.read_text(encoding="utf-8"))["synonyms"], "synonym", path.name)
    for entry in entries:
        if not isinstance(entry["means"], list) or not entry["means"]:
            raise CatalogueError(f"{path.name}: {entry['term']!r} needs a list of words under means")
        SearchSynonym.objects.get_or_create(
            term=str(entry["term"]), defaults={"meanings": ", ".join(map(str, entry["means"]))}
        )
    return len(entries)
