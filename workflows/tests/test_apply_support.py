"""A small catalogue for the apply tests (no tests here): three departments' services bundled
as a life event, sharing data elements and one material, with a conditional field and a
conditional material — enough to prove "each element asked once" without the demo seed."""

import io
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from reportlab.pdfgen import canvas

from accounts.actions import verified_attribute_set
from accounts.models import Department, User
from documents.actions import document_upload
from documents.models import Document
from services.models import (
    DataElement,
    DocumentType,
    FormField,
    LifeEvent,
    LifeEventService,
    MaterialRequirement,
    Service,
    ServiceVersion,
)

ALICE_ID = "11010519491231002X"


def pdf_bytes(marker: str = "") -> bytes:
    """A real one-page PDF; the same marker always gives the same bytes."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, invariant=True)
    pdf.drawString(72, 720, f"Supporting document {marker}")
    pdf.save()
    return buffer.getvalue()


PDF = pdf_bytes()


def pdf_upload(name: str = "lease.pdf", marker: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(marker), content_type="application/pdf")


ELEMENTS = [
    # key, kind, label, extra
    ("person.full_name", "text", "Full name", {"max_length": 100}),
    ("person.id_number", "resident_id", "Resident ID number", {"sensitivity": "sensitive"}),
    ("person.phone", "phone", "Phone number", {}),
    ("business.name", "text", "Business name", {"min_length": 2, "max_length": 100}),
    ("business.kind", "choice", "Kind of business", {"choices": [
        {"value": "restaurant", "label_en": "Restaurant", "label_zh": "餐馆"},
        {"value": "cafe", "label_en": "Café", "label_zh": "咖啡馆"},
    ]}),
    ("business.floor_area_m2", "decimal", "Floor area (m²)", {"min_value": 1, "max_value": 100000}),
    ("business.opening_date", "date", "Opening date", {}),
    ("business.has_employees", "boolean", "Will you have employees?", {}),
    ("business.employees", "number", "Number of employees", {"min_value": 1, "max_value": 10000}),
    ("business.contact_email", "email", "Business e-mail address", {}),
]  # fmt: skip


@dataclass
class Catalogue:
    licence: Service
    fire: Service
    tax: Service
    restaurant: LifeEvent
    id_card: DocumentType
    lease: DocumentType
    floor_plan: DocumentType
    elements: dict[str, DataElement]

    def version(self, service: Service) -> ServiceVersion:
        return service.versions.get(status="published")


def _department(code: str, short: str) -> Department:
    defaults = {"short_code": short, "name_en": code, "name_zh": code}
    return Department.objects.get_or_create(code=code, defaults=defaults)[0]


def publish(version: ServiceVersion) -> None:
    ServiceVersion.objects.filter(pk=version.pk).mark_published(at=timezone.now())


def retire(version: ServiceVersion) -> None:
    ServiceVersion.objects.filter(pk=version.pk).mark_retired(at=timezone.now())


def _service(
    code: str, name: str, department: Department, fields, materials, time_limit: int = 20, route=None
) -> Service:
    service = Service.objects.create(
        code=code, lead_department=department, name_en=name, name_zh=name, category="business"
    )
    version = ServiceVersion.objects.create(service=service, number=1, time_limit_days=time_limit, route=route or {})
    add_parts(version, fields, materials)
    publish(version)
    return service


def republish_at_level(service: Service, level: str) -> Service:
    """Retires the service's published version and publishes a copy that needs sign-in `level`."""
    old = service.versions.get(status="published")
    version = ServiceVersion.objects.create(
        service=service, number=old.number + 1, time_limit_days=old.time_limit_days, minimum_assurance=level,
        route=old.route,
    )  # fmt: skip
    fields = [(f.element.key, f.section_en, f.required, f.when) for f in old.fields.select_related("element")]
    materials = [(m.document_type, m.required, m.when) for m in old.materials.select_related("document_type")]
    add_parts(version, fields, materials)
    retire(old)
    publish(version)
    return service


def add_parts(version: ServiceVersion, fields, materials) -> None:
    for order, (key, section, required, when) in enumerate(fields):
        FormField.objects.create(
            version=version,
            element=DataElement.objects.get(key=key),
            section_en=section,
            section_zh=section,
            required=required,
            when=when,
            order=order,
        )
    for order, (document_type, required, when) in enumerate(materials):
        MaterialRequirement.objects.create(
            version=version, document_type=document_type, required=required, when=when, order=order
        )


def build_catalogue() -> Catalogue:
    elements = {}
    for key, kind, label, extra in ELEMENTS:
        elements[key] = DataElement.objects.get_or_create(
            key=key, defaults={"kind": kind, "label_en": label, "label_zh": label, **extra}
        )[0]
    pdf_only = ["application/pdf"]
    id_card = DocumentType.objects.get_or_create(
        code="id-card-copy",
        defaults={"name_en": "Copy of ID card", "name_zh": "身份证复印件",
                  "allowed_content_types": ["application/pdf", "image/png", "image/jpeg"]},
    )[0]  # fmt: skip
    lease = DocumentType.objects.get_or_create(
        code="lease", defaults={"name_en": "Lease contract", "name_zh": "租赁合同", "allowed_content_types": pdf_only}
    )[0]
    floor_plan = DocumentType.objects.get_or_create(
        code="floor-plan", defaults={"name_en": "Floor plan", "name_zh": "平面图", "allowed_content_types": pdf_only}
    )[0]
    licence_document = DocumentType.objects.get_or_create(
        code="business-licence",
        defaults={"name_en": "Business licence", "name_zh": "营业执照", "allowed_content_types": pdf_only},
    )[0]
    market, fire, tax = _department("market", "MKT"), _department("fire", "FIR"), _department("tax", "TAX")
    big = {"element": "business.floor_area_m2", "gt": 300}
    licence = _service(
        "business-licence",
        "Business licence",
        market,
        [
            ("person.full_name", "About you", True, None),
            ("person.id_number", "About you", True, None),
            ("person.phone", "About you", True, None),
            ("business.name", "Your business", True, None),
            ("business.kind", "Your business", True, None),
            ("business.floor_area_m2", "Your business", True, None),
            ("business.opening_date", "Your business", False, None),
        ],
        [(id_card, True, None), (lease, True, None)],
        time_limit=5,
        route={
            "steps": [{"key": "issue", "department": "market", "kind": "issue", "document_type": "business-licence"}]
        },
    )
    fire_check = _service(
        "fire-safety-check",
        "Fire safety check",
        fire,
        [
            ("person.full_name", "About you", True, None),
            ("business.name", "Your business", True, None),
            ("business.floor_area_m2", "Your business", True, None),
        ],
        [(floor_plan, True, big), (lease, True, None)],
        time_limit=10,
    )
    tax_registration = _service(
        "tax-registration",
        "Tax registration",
        tax,
        [
            ("person.full_name", "About you", True, None),
            ("person.id_number", "About you", True, None),
            ("business.name", "Your business", True, None),
            ("business.has_employees", "Staff", True, None),
            ("business.employees", "Staff", True, {"element": "business.has_employees", "is_true": True}),
            ("business.contact_email", "Staff", False, None),
        ],
        # The licence this bundle's first service issues: produced by the bundle, never asked.
        [(id_card, True, None), (licence_document, True, None)],
    )
    restaurant = LifeEvent.objects.create(code="open-a-restaurant", name_en="Open a restaurant", name_zh="开餐馆")
    for order, service in enumerate([licence, fire_check, tax_registration]):
        LifeEventService.objects.create(life_event=restaurant, service=service, order=order)
    return Catalogue(licence, fire_check, tax_registration, restaurant, id_card, lease, floor_plan, elements)


@pytest.fixture
def catalogue(db) -> Catalogue:
    return build_catalogue()


def verify_alice(alice: User) -> None:
    for key, value in {"person.full_name": "Alice Wang", "person.id_number": ALICE_ID}.items():
        verified_attribute_set(user=alice, element_key=key, value=value, source="identity")


def vault_document(owner: User, document_type: DocumentType, marker: str = "") -> Document:
    return document_upload(
        owner=owner, document_type=document_type, uploaded_file=pdf_upload(f"{document_type.code}.pdf", marker)
    )


GOOD_ANSWERS = {
    "person.full_name": "Alice Wang",
    "person.id_number": ALICE_ID,
    "person.phone": "13800138000",
    "business.name": "Alice's Noodles",
    "business.kind": "restaurant",
    "business.floor_area_m2": "120",
    "business.has_employees": "no",
}


def fill_everything(group, applicant: User, cat: Catalogue, skip: Iterable[str] = ()) -> None:
    """Answers every required question (but those in `skip`) and attaches every required document."""
    from workflows.apply.actions import draft_attach_document, draft_save
    from workflows.apply.selectors import group_form

    asked = {spec.key for spec in group_form(group).fields}
    answers = {key: value for key, value in GOOD_ANSWERS.items() if key in asked and key not in skip}
    result = draft_save(applicant=applicant, group_id=group.pk, values=answers)
    assert result.ok, result.errors
    for document_type in (cat.id_card, cat.lease):
        draft_attach_document(
            applicant=applicant,
            group_id=group.pk,
            document_type=document_type,
            document_id=vault_document(applicant, document_type).pk,
        )
