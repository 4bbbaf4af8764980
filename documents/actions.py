"""Writes to the vault. Each action is keyword-only and runs in one transaction."""

import datetime
import logging

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from documents.models import Document
from documents.scanning import ScanOutcome, scan_bytes
from documents.selectors import document_for_user
from documents.storage import private_storage
from documents.uses import uses_of, uses_release
from documents.validation import CheckedUpload, UploadRejected, check_content, check_upload
from services.models import DocumentType

logger = logging.getLogger(__name__)


class DeletionRefused(UploadRejected):
    """A document may not be deleted (attached to a submitted application, or issued)."""


def _validity(document_type: DocumentType, start: datetime.date) -> datetime.date | None:
    return start + datetime.timedelta(days=document_type.validity_days) if document_type.validity_days else None


def _owned_by(*, owner: User, organisation: Organisation | None) -> dict:
    if organisation is None:
        return {"owner": owner, "owner_organisation": None}
    if not organisation.representatives.filter(pk=owner.pk).exists():
        raise Http404
    return {"owner": None, "owner_organisation": organisation}


def _store(
    *, checked: CheckedUpload, document_type: DocumentType, ownership: dict, scan_status: str, source: str, **extra
) -> Document:
    """Creates the row and writes the file once; the same bytes for the same owner return the existing row."""
    existing = Document.objects.filter(**ownership, document_type=document_type, sha256=checked.sha256).first()
    if existing is not None:
        return existing
    stored_name = private_storage.save(checked.stored_name, ContentFile(checked.content))
    today = timezone.localdate()
    try:
        # A savepoint: a concurrent upload of the same bytes hits the unique constraint.
        with transaction.atomic():
            document = Document.objects.create(
                **ownership,
                document_type=document_type,
                file=stored_name,
                display_name=checked.display_name,
                sha256=checked.sha256,
                size=checked.size,
                content_type=checked.content_type,
                scan_status=scan_status,
                source=source,
                valid_from=extra.pop("valid_from", today),
                valid_until=extra.pop("valid_until", _validity(document_type, today)),
            )
    except IntegrityError:
        private_storage.delete(stored_name)
        return Document.objects.get(**ownership, document_type=document_type, sha256=checked.sha256)
    # If an outer transaction rolls back later, the file stays as an orphan without a row;
    # harmless (unreachable: no row points at it) and left for a periodic sweep.
    return document


def document_upload(
    *,
    owner: User,
    document_type: DocumentType,
    uploaded_file: UploadedFile,
    organisation: Organisation | None = None,
    source: str = Document.Source.UPLOADED,
) -> Document:
    """Checks, scans and stores an upload in the owner's (or organisation's) vault.

    `source` says how it came in: uploaded by the owner, or scanned at the counter for them.

    Raises UploadRejected with one clear sentence when the file is refused. The scan runs
    before the transaction so no database lock is held while clamd reads the bytes; when the
    scanner is configured but unreachable the upload is refused (fail closed).
    """
    ownership = _owned_by(owner=owner, organisation=organisation)
    checked = check_upload(uploaded_file=uploaded_file, document_type=document_type)
    existing = Document.objects.filter(**ownership, document_type=document_type, sha256=checked.sha256).first()
    if existing is not None:
        return existing
    result = scan_bytes(checked.content)
    if result.outcome == ScanOutcome.INFECTED:
        raise UploadRejected(_("The virus scanner found a threat in this file. It has not been stored."), code="virus")
    if result.outcome != ScanOutcome.CLEAN:
        raise UploadRejected(
            _("We could not check this file for viruses just now, so it has not been stored. Try again later."),
            code="scan_error",
        )
    with transaction.atomic():
        return _store(
            checked=checked,
            document_type=document_type,
            ownership=ownership,
            scan_status=Document.ScanStatus.CLEAN,
            source=source,
        )


def document_issue(
    *,
    owner: User,
    document_type: DocumentType,
    content: bytes,
    display_name: str,
    valid_until: datetime.date | None = None,
    organisation: Organisation | None = None,
) -> Document:
    """Stores a department-issued document (e.g. a certificate PDF) in the owner's vault, or in
    the vault of the organisation the application was made for.

    The bytes come from our own code, so they are not virus-scanned; they are still checked
    against the document type (a certificate type must allow application/pdf).
    """
    checked = check_content(content=content, claimed_name=display_name, document_type=document_type)
    today = timezone.localdate()
    with transaction.atomic():
        return _store(
            checked=checked,
            document_type=document_type,
            ownership=(
                {"owner": owner, "owner_organisation": None}
                if organisation is None
                else {"owner": None, "owner_organisation": organisation}
            ),
            scan_status=Document.ScanStatus.CLEAN,
            source=Document.Source.ISSUED,
            valid_from=today,
            valid_until=valid_until if valid_until is not None else _validity(document_type, today),
        )


def document_delete(*, document: Document, actor: User) -> None:
    """Deletes a document of the actor's vault.

    Refused when the document is attached to a submitted application (the department relies
    on it) or was issued by a department. Attachments to drafts are removed with it; the
    draft then lists the material as missing again. Where it is used is asked of the app that
    uses documents (`documents.uses`), so documents never reads its tables.
    """
    with transaction.atomic():
        document = document_for_user(user=actor, document_id=document.pk, for_update=True)
        if document.source == Document.Source.ISSUED:
            raise DeletionRefused(
                _("Documents issued by a department cannot be deleted from your vault."), code="issued"
            )
        uses = uses_of(document)
        if uses.submitted:
            raise DeletionRefused(
                _("This document cannot be deleted because it is part of a submitted application (%(numbers)s).")
                % {"numbers": ", ".join(uses.numbers) or _("submitted")},
                code="in_use",
            )
        uses_release(document)
        stored_name = document.file.name
        document.delete()
        transaction.on_commit(lambda: private_storage.delete(stored_name))
