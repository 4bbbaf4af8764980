"""Retention: each service keeps a finished application's answers and documents for its
`retention_days` after the decision (or withdrawal); then this sweep removes them.

Removed: the application's answers (and the group's, once every application of the group is
due), and the documents attached to it, unless another application still within its retention
uses them, or a department issued them (a certificate is the person's to keep). The application
row, its number, status and dates stay, and so do the events and access records: they are the
audit trail, append-only by trigger. What the sweep did is written as a RetentionRecord and an
application event "data removed"; the event says how much was removed, never what.

Idempotent: one RetentionRecord per application, taken under the application's row lock, so a
second sweep (or two sweeps at once) removes nothing twice.
"""

import datetime
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from documents.models import Document
from documents.storage import private_storage
from services.models import Service
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationEvent, GroupDocument, RetentionRecord

logger = logging.getLogger("workflows.privacy.retention")


@dataclass
class RetentionResult:
    applications: int = 0
    documents: int = 0


def retention_ends_at(application: Application) -> datetime.datetime | None:
    if application.decided_at is None:
        return None
    return application.decided_at + datetime.timedelta(days=application.service.retention_days)


def applications_due(*, now: datetime.datetime, within: datetime.timedelta = datetime.timedelta(0)) -> QuerySet:
    """Finished applications whose retention ends by `now + within`, not removed yet."""
    condition = Q()
    for service_id, days in Service.objects.values_list("pk", "retention_days"):
        condition |= Q(service_id=service_id, decided_at__lte=now + within - datetime.timedelta(days=days))
    if not condition:
        return Application.objects.none()
    return (
        Application.objects.filter(status__in=Application.FINISHED, decided_at__isnull=False)
        .filter(condition)
        .filter(retention_record__isnull=True)
    )


def _still_needed(document: Document, *, group_id: int) -> bool:
    """Whether another application within its retention (or a draft) still uses the document."""
    others = GroupDocument.objects.filter(document=document).exclude(group_id=group_id).select_related("group")
    for attachment in others:
        group = attachment.group
        if group.submitted_at is None:
            return True
        if group.applications.filter(retention_record__isnull=True).exists():
            return True
    return False


def document_erase(document: Document) -> bool:
    """Removes a document's file and hides it from the vault; the row stays (access records
    name it). Returns whether this call removed it."""
    stored_name = document.file.name
    removed = Document.objects.filter(pk=document.pk, erased_at__isnull=True).update(
        erased_at=timezone.now(), display_name="(removed)", sha256=f"removed-{document.pk}", file=""
    )
    if removed and stored_name:
        transaction.on_commit(lambda: private_storage.delete(stored_name))
    return bool(removed)


def application_retention_end(*, application_id: int, now: datetime.datetime) -> int | None:
    """Removes one due application's answers and documents. Returns the number of documents
    removed, or None when there was nothing to do (not due, or done already)."""
    with transaction.atomic():
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("service", "group")
            .filter(pk=application_id)
            .first()
        )
        if application is None or RetentionRecord.objects.filter(application=application).exists():
            return None
        ends_at = retention_ends_at(application)
        finished_at = application.decided_at
        if application.status not in Application.FINISHED or finished_at is None or ends_at is None or ends_at > now:
            return None
        answers = len(application.data or {})
        application.data = {}
        application.save(update_fields=["data", "updated_at"])
        # A correction keeps the answers it changed (before and after): they go with the rest.
        for item in application.work_items.exclude(correction={}).only("pk", "correction"):
            if "changes" in item.correction:
                item.correction = {key: value for key, value in item.correction.items() if key != "changes"}
                item.save(update_fields=["correction"])
        group = application.group
        siblings_kept = group.applications.exclude(pk=application.pk).filter(retention_record__isnull=True).exists()
        documents = 0
        if not siblings_kept:
            # The last application of its group: the group's answers and documents go too.
            group.data = {}
            group.changed_verified = []
            group.identity_document_number = ""  # the counter's check: that it happened stays
            group.save(update_fields=["data", "changed_verified", "identity_document_number", "updated_at"])
            for attachment in group.documents.select_related("document"):
                document = attachment.document
                if document.source == Document.Source.ISSUED or _still_needed(document, group_id=group.pk):
                    continue
                documents += document_erase(document)
        RetentionRecord.objects.create(
            application=application,
            service=application.service,
            finished_at=finished_at,
            retention_days=application.service.retention_days,
            answers_removed=answers,
            documents_removed=documents,
        )
        event_record(
            application=application,
            kind=ApplicationEvent.Kind.DATA_REMOVED,
            from_status=application.status,
            to_status=application.status,
            reason="retention ended",
            payload={"answers_removed": answers, "documents_removed": documents},
        )
    logger.info("retention ended application=%s answers=%s documents=%s", application.number, answers, documents)
    return documents


def retention_sweep(*, now: datetime.datetime | None = None, limit: int = 1000) -> RetentionResult:
    """Removes what is due. Daily from beat; also `manage.py retention_sweep`."""
    now = now or timezone.now()
    result = RetentionResult()
    due = list(applications_due(now=now).order_by("decided_at", "pk").values_list("pk", flat=True)[:limit])
    for application_id in due:
        removed = application_retention_end(application_id=application_id, now=now)
        if removed is not None:
            result.applications += 1
            result.documents += removed
    return result
