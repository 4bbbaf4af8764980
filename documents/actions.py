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
from documents.originals import original_seal
from documents.scanning import Scanner, ScanOutcome, scan_bytes
from documents.selectors import document_for_user
from documents.storage import private_storage
from documents.uses import uses_of, uses_release
from documents.validation import CheckedUpload, UploadRejected, UploadUnavailable, check_content, check_upload
from lib.compiled import Compiled
from services.models import DocumentType

logger = logging.getLogger(__name__)


class DeletionRefused(UploadRejected):
    """A document may not be deleted (attached to a submitted application, or issued)."""


def _validity(document_type: DocumentType, start: datetime.date) -> datetime.date | None:
    return start + datetime.timedelta(days=document_type.validity_days) if document_type.validity_days else None


# Looking for the same bytes in a person's vault, at every upload: compiled once per process.
_personal_duplicate = Compiled(
    lambda owner, document_type, sha256: Document.objects.filter(
        owner=owner, owner_organisation__isnull=True, document_type=document_type, sha256=sha256
    ).order_by("pk")
)


def _duplicate(*, ownership: dict, document_type: DocumentType, sha256: str) -> Document | None:
    """The document of the same type with the same bytes in the same vault, if any."""
    if ownership["owner_organisation"] is None:
        return _personal_duplicate.first(owner=ownership["owner"].pk, document_type=document_type.pk, sha256=sha256)
    return Document.objects.filter(**ownership, document_type=document_type, sha256=sha256).order_by("pk").first()


def _owned_by(*, owner: User, organisation: Organisation | None) -> dict:
    if organisation is None:
        return {"owner": owner, "owner_organisation": None}
    if not organisation.representatives.filter(pk=owner.pk).exists():
        raise Http404
    return {"owner": None, "owner_organisation": organisation}


def _store(
    *,
    checked: CheckedUpload,
    document_type: DocumentType,
    ownership: dict,
    scan_status: str,
    source: str,
    served: bytes,
    seal_original: bool,
    look_first: bool = True,
    **extra,
) -> Document:
    """Creates the row and writes the files once; the same bytes for the same owner return the existing row.
    `look_first=False`: the caller has just looked for them (the unique constraint still
    catches an upload of the same bytes that lands in between).

    `served` is what staff and the owner will download (the rendition); with `seal_original`
    the upload as it came is kept sealed beside it, for evidence only.
    """
    if look_first:
        existing = _duplicate(ownership=ownership, document_type=document_type, sha256=checked.sha256)
        if existing is not None:
            return existing
    stored_name = private_storage.save(checked.stored_name, ContentFile(served))
    original_name = original_seal(checked.content) if seal_original else ""
    today = timezone.localdate()
    try:
        # A savepoint: a concurrent upload of the same bytes hits the unique constraint.
        with transaction.atomic():
            document = Document.objects.create(
                **ownership,
                document_type=document_type,
                file=stored_name,
                original=original_name,
                display_name=checked.display_name,
                sha256=checked.sha256,
                size=checked.size,
                served_size=len(served),
                content_type=checked.content_type,
                scan_status=scan_status,
                source=source,
                valid_from=extra.pop("valid_from", today),
                valid_until=extra.pop("valid_until", _validity(document_type, today)),
            )
    except IntegrityError:
        _delete_files(stored_name, original_name)
        return Document.objects.get(**ownership, document_type=document_type, sha256=checked.sha256)
    # If an outer transaction rolls back later, the files stay as orphans without a row;
    # harmless (unreachable: no row points at them) and left for a periodic sweep.
    return document


def _delete_files(*names: str) -> None:
    for name in names:
        if name:
            private_storage.delete(name)


def document_upload(
    *,
    owner: User,
    document_type: DocumentType,
    uploaded_file: UploadedFile,
    organisation: Organisation | None = None,
    source: str = Document.Source.UPLOADED,
    fallback_scanner: Scanner | None = None,
) -> Document:
    """Checks, scans and stores an upload in the owner's (or organisation's) vault.

    `source` says how it came in: uploaded by the owner, or scanned at the counter for them.
    `fallback_scanner` is asked only where no scanner is configured and none is required (the
    demo seed vouches for the PDFs it made itself); see documents.scanning.

    Raises UploadRejected with one clear sentence when the file is refused, UploadUnavailable
    when it cannot be scanned now (scanner down, or required and not configured: fail closed).
    The scan runs before the transaction so no database lock is held while clamd reads the
    bytes. Without a scanner (development, test) the document is stored as `not_scanned`.
    """
    ownership = _owned_by(owner=owner, organisation=organisation)
    checked = check_upload(uploaded_file=uploaded_file, document_type=document_type)
    existing = _duplicate(ownership=ownership, document_type=document_type, sha256=checked.sha256)
    if existing is not None:
        return existing
    result = scan_bytes(checked.content, fallback=fallback_scanner)
    if result.outcome == ScanOutcome.INFECTED:
        logger.warning("upload refused: virus scanner found %s", result.detail)
        raise UploadRejected(_("The virus scanner found a threat in this file. It has not been stored."), code="virus")
    if result.outcome not in (ScanOutcome.CLEAN, ScanOutcome.NOT_SCANNED):
        raise UploadUnavailable(
            _("We could not check this file for viruses just now, so it has not been stored. Try again later."),
            code="scan_error",
        )
    # Looked for above; the insert is its own transaction (_store's atomic block is the outermost here).
    return _store(
        checked=checked,
        document_type=document_type,
        ownership=ownership,
        scan_status=Document.ScanStatus(result.outcome.value),
        source=source,
        served=checked.rendition,
        seal_original=True,
        look_first=False,
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
    checked = check_content(content=content, claimed_name=display_name, document_type=document_type, disarm=False)
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
            # Our own bytes, served as made: a rewrite would break a signature on them.
            served=checked.content,
            seal_original=False,
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
        names = (document.file.name or "", document.original.name or "")
        document.delete()
        # The sealed original goes with the document: kept while the document is, no longer.
        transaction.on_commit(lambda: _delete_files(*names))
