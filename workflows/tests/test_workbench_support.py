"""Helpers for the workbench tests (no tests here): applications routed by the real engine,
and big queues made with bulk_create."""

import datetime
import io
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from reportlab.pdfgen import canvas

from accounts.models import Department, User
from documents.actions import document_upload
from documents.models import Document
from services.actions import version_publish
from services.models import FormField, MaterialRequirement, Service, ServiceVersion
from workflows.engine.actions import application_start
from workflows.models import Application, ApplicationGroup, GroupDocument, WorkItem
from workflows.tests.factories import (
    ELEMENTS,
    VALID_ID,
    application_submit,
    certificate_type,
    departments,
    element,
    supporting_type,
)

ONE_REVIEW: dict[str, Any] = {
    "steps": [{"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "label_en": "Licence"}]
}
# A market review, then market and fire in parallel (DESIGN §4).
PARALLEL: dict[str, Any] = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5},
        {"key": "food", "department": "market", "kind": "review", "sla_days": 10, "after": ["licence"]},
        {"key": "fire", "department": "fire", "kind": "review", "sla_days": 10, "after": ["licence"]},
    ]
}
REJECTION_REASONS = [
    {"code": "lease", "label_en": "The lease does not cover the premises", "label_zh": "租赁合同不覆盖经营场所"},
    {"code": "name", "label_en": "The business name is taken", "label_zh": "企业名称已被占用"},
]


def version_with(route: dict[str, Any] | None = None) -> ServiceVersion:
    """A published version with the test form (name, ID number, business name, floor area),
    one material, rejection reasons and the given route."""
    found = departments()
    certificate_type()
    code = f"wb-{uuid.uuid4().hex[:8]}"
    service = Service.objects.create(
        code=code,
        lead_department=found["market"],
        name_en=f"Licence {code}",
        name_zh=f"许可 {code}",
        category="business",
    )
    version = ServiceVersion.objects.create(
        service=service, number=1, time_limit_days=20, route=route or ONE_REVIEW, rejection_reasons=REJECTION_REASONS
    )
    for order, key in enumerate(ELEMENTS):
        FormField.objects.create(
            version=version,
            element=element(key),
            order=order,
            required=False,
            section_en="Applicant" if order < 2 else "Business",
        )
    MaterialRequirement.objects.create(version=version, document_type=supporting_type(), required=False)
    return version_publish(version=version, actor=None)


def routed_application(
    *, applicant: User, route: dict[str, Any] | None = None, version: ServiceVersion | None = None, **data: Any
) -> Application:
    """A submitted application the engine has started: its first steps are open."""
    version = version or version_with(route)
    application = application_submit(applicant=applicant, version=version, data=data or None, start=False)
    application_start(application_id=application.pk)
    application.refresh_from_db()
    return application


def step(application: Application, key: str = "licence") -> WorkItem:
    item = application.work_items.filter(step_key=key).order_by("-round").first()
    assert item is not None, f"no work item {key}"
    return item


def bulk_queue(
    *, department: Department, applicant: User, count: int, version: ServiceVersion | None = None
) -> list[WorkItem]:
    """`count` open review steps of `department`, made with two bulk inserts (fast for 10,000)."""
    version = version or version_with(ONE_REVIEW)
    now = timezone.now()
    group = ApplicationGroup.objects.create(applicant=applicant, submitted_at=now, number=f"G-{uuid.uuid4().hex[:12]}")
    prefix = uuid.uuid4().hex[:6].upper()
    applications = Application.objects.bulk_create(
        [
            Application(
                group=group,
                applicant=applicant,
                number=f"B{prefix}-{n:06d}",
                service=version.service,
                service_version=version,
                status=Application.Status.IN_PROGRESS,
                data={"person.full_name": applicant.display_name, "person.id_number": VALID_ID},
                submitted_at=now,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    return WorkItem.objects.bulk_create(
        [
            WorkItem(
                application=application,
                step_key="licence",
                department=department,
                kind=WorkItem.Kind.REVIEW,
                status=WorkItem.Status.OPEN,
                sla_days=5,
                statutory_due_at=now + datetime.timedelta(hours=1 + n % 400),
                opened_at=now,
            )
            for n, application in enumerate(applications)
        ],
        batch_size=2000,
    )


def make_pdf(text: str = "Tenancy agreement") -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.save()
    return buffer.getvalue()


def attach_lease(application: Application, text: str = "Tenancy agreement") -> Document:
    """A lease PDF uploaded to the applicant's vault (scanned by the suite's clamd test peer, so
    clean), attached to the application's group."""
    document = document_upload(
        owner=application.applicant,
        document_type=supporting_type(),
        uploaded_file=SimpleUploadedFile("lease.pdf", make_pdf(text), content_type="application/pdf"),
    )
    GroupDocument.objects.update_or_create(
        group=application.group, document_type=supporting_type(), defaults={"document": document}
    )
    return document
