""" "Download everything we hold about you": a ZIP with one JSON file per kind of data and a
readable HTML summary, built in the background (a Celery task; in-process in the embedded mode).

Only the person's own rows go in: their profile, verified attributes, drafts and applications
(answers and the timeline they see), their own vault documents, who looked at their data, their
notifications and ratings. Internal notes and remarks of staff are never part of it.
"""

import datetime
import io
import json
import logging
import uuid
import zipfile
from typing import Any

from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User, VerifiedAttribute
from documents.models import Document
from documents.storage import private_storage
from workflows.models import (
    Application,
    ApplicationGroup,
    DataAccessRecord,
    DataExport,
    Notification,
    NotificationPreference,
    Rating,
)
from workflows.outbox import outbox_enqueue
from workflows.progress.selectors import application_steps, application_timeline

logger = logging.getLogger("workflows.privacy.export")

BUILD_TASK = "workflows.privacy.export_build"
KEPT_FOR = datetime.timedelta(days=7)


def data_export_request(*, user: User) -> DataExport:
    """Starts a new export, unless one is still being prepared (that one is returned)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time per person
        running = DataExport.objects.filter(
            user=user, status__in=[DataExport.Status.PENDING, DataExport.Status.BUILDING]
        ).first()
        if running is not None:
            return running
        export = DataExport.objects.create(user=user)
        outbox_enqueue(task=BUILD_TASK, kwargs={"export_id": export.pk})
        return export


def export_for_owner(*, user: User, export_id: int) -> DataExport | None:
    """The person's own export, still downloadable; None for anyone else's or an expired one."""
    return (
        DataExport.objects.filter(
            pk=export_id, user=user, status=DataExport.Status.READY, expires_at__gt=timezone.now()
        )
        .exclude(file="")
        .first()
    )


def _when(value: datetime.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _profile(user: User) -> dict[str, Any]:
    preference = NotificationPreference.objects.filter(user=user).first()
    return {
        "username": user.username,
        "name": user.display_name,
        "email": user.email,
        "email_confirmed_at": _when(user.email_verified_at),
        "preferred_language": user.preferred_language,
        "resident_id": user.resident_id,
        "joined_at": _when(user.date_joined),
        "last_sign_in_at": _when(user.last_login),
        "organisations": [
            {"name": o.name, "unified_social_credit_code": o.registration_number}
            for o in user.organisations.order_by("name")
        ],
        "notifications_by": {
            "email": preference.email if preference else True,
            "sms": preference.sms if preference else False,
            "phone": preference.phone if preference else "",
        },
        "national_eid_links": [
            {"linked_at": _when(link.linked_at), "last_used_at": _when(link.last_used_at)}
            for link in user.eid_identities.order_by("linked_at")
        ],
        "sign_ins": [
            {"at": _when(s.created_at), "device": s.user_agent, "ip_address": s.ip_address}
            for s in user.sign_ins.order_by("-created_at")[:200]
        ],
    }


def _verified(user: User) -> list[dict[str, Any]]:
    return [
        {"element": a.element_key, "value": a.value, "source": a.source, "verified_at": _when(a.verified_at)}
        for a in VerifiedAttribute.objects.filter(user=user).order_by("element_key")
    ]


def _applications(user: User) -> list[dict[str, Any]]:
    rows = []
    applications = Application.objects.filter(applicant=user).select_related("service", "group").order_by("number")
    for application in applications:
        timeline = application_timeline(application, application_steps(application))
        rows.append(
            {
                "number": application.number,
                "service": application.service.name_en,
                "status": application.status,
                "submitted_at": _when(application.submitted_at),
                "decided_at": _when(application.decided_at),
                "statutory_due_at": _when(application.statutory_due_at),
                "filed_at_the_counter": application.group.filed_by_id is not None,
                "answers": application.data,
                "documents": [
                    attachment.document.display_name
                    for attachment in application.group.documents.select_related("document")
                ],
                "events": [
                    {"at": _when(entry.at), "what": entry.title, "detail": entry.detail, "department": entry.department}
                    for entry in timeline
                ],
            }
        )
    return rows


def _drafts(user: User) -> list[dict[str, Any]]:
    return [
        {"started_at": _when(group.created_at), "updated_at": _when(group.updated_at), "answers": group.data}
        for group in ApplicationGroup.objects.filter(applicant=user, submitted_at__isnull=True).order_by("created_at")
    ]


def _documents(user: User) -> list[Document]:
    return list(
        Document.objects.filter(owner=user, erased_at__isnull=True).select_related("document_type").order_by("pk")
    )


def _document_rows(documents: list[Document]) -> list[dict[str, Any]]:
    return [
        {
            "file": f"documents/{d.pk}-{d.display_name}",
            "name": d.display_name,
            "type": d.document_type.name_en,
            "source": d.source,
            "sha256": d.sha256,
            "uploaded_at": _when(d.created_at),
            "valid_until": d.valid_until.isoformat() if d.valid_until else None,
        }
        for d in documents
    ]


def _access_records(user: User) -> list[dict[str, Any]]:
    records = (
        DataAccessRecord.objects.filter(applicant=user)
        .select_related("accessor", "department", "application", "document")
        .order_by("created_at", "id")
    )
    return [
        {
            "at": _when(r.created_at),
            "who": r.accessor.name,
            "department": r.department.name_en if r.department else "",
            "what": r.what,
            "field": r.field_key,
            "application": r.application.number if r.application else "",
            "document": r.document.display_name if r.document else "",
        }
        for r in records
    ]


def _notifications(user: User) -> list[dict[str, Any]]:
    return [
        {"at": _when(n.created_at), "subject": n.subject, "body": n.body, "read_at": _when(n.read_at)}
        for n in Notification.objects.filter(user=user).order_by("created_at", "id")
    ]


def _ratings(user: User) -> list[dict[str, Any]]:
    return [
        {
            "at": _when(r.created_at),
            "application": r.application.number,
            "department": r.department.name_en,
            "score": r.score,
            "comment": r.comment,
        }
        for r in Rating.objects.filter(applicant=user).select_related("application", "department").order_by("pk")
    ]


def _progress(export: DataExport, percent: int) -> None:
    DataExport.objects.filter(pk=export.pk).update(progress=percent)


def data_export_build(*, export_id: int) -> str:
    """Builds the ZIP. Idempotent: only the call that moves the export from pending to building
    does the work; a redelivered task finds nothing to do."""
    claimed = DataExport.objects.filter(pk=export_id, status=DataExport.Status.PENDING).update(
        status=DataExport.Status.BUILDING, progress=5
    )
    if claimed != 1:
        return "already taken"
    export = DataExport.objects.select_related("user").get(pk=export_id)
    user = export.user
    try:
        sections: dict[str, Any] = {}
        steps = [
            ("profile", _profile),
            ("verified_attributes", _verified),
            ("applications", _applications),
            ("drafts", _drafts),
            ("access_records", _access_records),
            ("notifications", _notifications),
            ("ratings", _ratings),
        ]
        for done, (name, build) in enumerate(steps, start=1):
            sections[name] = build(user)
            _progress(export, 5 + done * 10)
        documents = _documents(user)
        sections["documents"] = _document_rows(documents)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in sections.items():
                archive.writestr(
                    f"{name}.json", json.dumps(content, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
                )
            for document, row in zip(documents, sections["documents"], strict=True):
                try:
                    with private_storage.open(document.file.name, "rb") as stored:
                        archive.writestr(row["file"], stored.read())
                except FileNotFoundError:
                    row["missing"] = True
            _progress(export, 90)
            with translation.override(user.preferred_language or "en"):
                summary = render_to_string(
                    "workflows/privacy/export_summary.html",
                    {"person": user, "created_at": timezone.now(), **sections},
                )
            archive.writestr("summary.html", summary)
        content = buffer.getvalue()
        stored_name = private_storage.save(f"exports/{uuid.uuid4().hex}.zip", ContentFile(content))
        now = timezone.now()
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.READY,
            progress=100,
            file=stored_name,
            size=len(content),
            ready_at=now,
            expires_at=now + KEPT_FOR,
        )
    except Exception:
        logger.exception("data export failed export_id=%s", export_id)
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.FAILED)
        raise
    logger.info("data export ready export_id=%s user=%s size=%s", export_id, user.pk, len(content))
    return "ready"


def data_exports_expire(*, now: datetime.datetime | None = None) -> int:
    """Deletes the files of exports past their seven days (the row stays, without a file)."""
    now = now or timezone.now()
    expired = list(DataExport.objects.filter(expires_at__lte=now).exclude(file="").values_list("pk", "file"))
    for pk, name in expired:
        if DataExport.objects.filter(pk=pk, file=name).update(file="") == 1:
            private_storage.delete(name)
    return len(expired)
