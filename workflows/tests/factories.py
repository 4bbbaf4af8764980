"""Small factories for the engine's tests: a published service version with a given route,
and submitted applications against it (as the apply step leaves them)."""

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.demo import seed_departments
from accounts.models import Department, User
from services.actions import version_publish
from services.models import DataElement, DocumentType, FormField, MaterialRequirement, Service, ServiceVersion
from workflows.models import Application, ApplicationGroup
from workflows.outbox import outbox_enqueue

ELEMENTS = {
    "person.full_name": ("text", "Full name", "姓名"),
    "person.id_number": ("resident_id", "Resident ID number", "居民身份证号码"),
    "business.name": ("text", "Business name", "企业名称"),
    "business.floor_area_m2": ("number", "Floor area (m²)", "经营面积"),
}
VALID_ID = "11010519491231002X"  # passes the GB 11643 check

# The demo "open a restaurant" route, shaped as in DESIGN §4.
RESTAURANT_ROUTE: dict[str, Any] = {
    "steps": [
        {"key": "identity", "department": "psb", "kind": "automatic", "handler": "psb.verify_identity"},
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "after": ["identity"]},
        {"key": "food", "department": "market", "kind": "review", "after": ["licence"], "sla_days": 10},
        {
            "key": "fire",
            "department": "fire",
            "kind": "review",
            "after": ["licence"],
            "sla_days": 10,
            "when": {"element": "business.floor_area_m2", "gt": 300},
        },
        {"key": "tax", "department": "tax", "kind": "automatic", "handler": "tax.register", "after": ["licence"]},
        {
            "key": "issue",
            "department": "market",
            "kind": "issue",
            "document_type": "food-business-licence",
            "after": ["food", "fire", "tax"],
        },
    ]
}


def departments() -> dict[str, Department]:
    return {department.code: department for department in seed_departments()}


def certificate_type() -> DocumentType:
    return DocumentType.objects.get_or_create(
        code="food-business-licence",
        defaults={
            "name_en": "Food business licence",
            "name_zh": "食品经营许可证",
            "allowed_content_types": ["application/pdf"],
            "validity_days": 365 * 5,
        },
    )[0]


def supporting_type() -> DocumentType:
    return DocumentType.objects.get_or_create(
        code="lease-contract",
        defaults={"name_en": "Lease contract", "name_zh": "租赁合同", "allowed_content_types": ["application/pdf"]},
    )[0]


def element(key: str) -> DataElement:
    kind, label_en, label_zh = ELEMENTS[key]
    return DataElement.objects.get_or_create(
        key=key, defaults={"kind": kind, "label_en": label_en, "label_zh": label_zh}
    )[0]


def published_version(
    *,
    route: dict[str, Any] | None = None,
    code: str | None = None,
    time_limit_days: int = 20,
    materials: bool = True,
) -> ServiceVersion:
    """A published version of a new (or the named) service with the given route."""
    found = departments()
    certificate_type()
    code = code or f"svc-{uuid.uuid4().hex[:8]}"
    service, _ = Service.objects.get_or_create(
        code=code,
        defaults={
            "lead_department": found["market"],
            "name_en": f"Service {code}",
            "name_zh": f"服务 {code}",
            "category": "business",
        },
    )
    number = (service.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = ServiceVersion.objects.create(
        service=service, number=number, time_limit_days=time_limit_days, route=route or RESTAURANT_ROUTE
    )
    for order, key in enumerate(ELEMENTS):
        FormField.objects.create(version=version, element=element(key), order=order, required=False)
    if materials:
        MaterialRequirement.objects.create(version=version, document_type=supporting_type(), required=False)
    return version_publish(version=version, actor=None)


def application_submit(
    *, applicant: User, version: ServiceVersion, data: dict[str, Any] | None = None, start: bool = True
) -> Application:
    """An application as the apply step leaves it: submitted, with its start task in the outbox."""
    data = {
        "person.full_name": applicant.display_name,
        "person.id_number": VALID_ID,
        "business.name": "Noodle House",
        "business.floor_area_m2": 120,
        **(data or {}),
    }
    with transaction.atomic():
        now = timezone.now()
        group = ApplicationGroup.objects.create(
            applicant=applicant, data=data, submitted_at=now, number=f"G-{uuid.uuid4().hex[:12]}"
        )
        application = Application.objects.create(
            group=group,
            applicant=applicant,
            number=f"T-{uuid.uuid4().hex[:12].upper()}",
            service=version.service,
            service_version=version,
            data=data,
            submitted_at=now,
        )
        if start:
            outbox_enqueue(task="workflows.application_start", kwargs={"application_id": application.pk})
    return application
