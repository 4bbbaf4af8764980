"""Reads of the vault, scoped to the person asking: outsiders get 404, never a hint."""

import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from documents.models import USABLE_SCAN_STATUSES, Certificate, Document
from documents.uses import uses_of
from services.models import DocumentType


def _visible_to(user: User) -> Q:
    # The person's own documents and those of organisations they represent; not those removed
    # when their retention ended or their owner asked.
    return (Q(owner=user) | Q(owner_organisation__in=user.organisations.values("pk"))) & Q(erased_at__isnull=True)


def documents_for_user(*, user: User) -> QuerySet[Document]:
    """The vault of `user`, newest first, with the type and the applications each was used in."""
    if not user.is_authenticated:
        return Document.objects.none()
    return (
        Document.objects.filter(_visible_to(user))
        .select_related("document_type", "owner_organisation")
        .order_by("-created_at", "-pk")
    )


def document_for_user(*, user: User, document_id: int | str, for_update: bool = False) -> Document:
    """One document of the user's vault; Http404 for anyone else (or a malformed id)."""
    if not user.is_authenticated:
        raise Http404
    try:
        pk = int(document_id)
    except (TypeError, ValueError):
        raise Http404 from None
    queryset = Document.objects.filter(_visible_to(user)).select_related("document_type")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    document = queryset.filter(pk=pk).first()
    if document is None:
        raise Http404
    return document


def reusable_documents(
    *, user: User, document_type: DocumentType, on_date: datetime.date | None = None
) -> QuerySet[Document]:
    """Documents of this type the user may attach instead of uploading again: valid on the date,
    and clean (or stored unscanned where no scanner runs: staff still cannot open those)."""
    on_date = on_date or timezone.localdate()
    return (
        Document.objects.filter(_visible_to(user), document_type=document_type, scan_status__in=USABLE_SCAN_STATUSES)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on_date))
        .exclude(certificate__revoked_at__isnull=False)
        .select_related("document_type")
        .order_by("-created_at", "-pk")
    )


def applications_using(document: Document) -> list[str]:
    """Numbers of the submitted applications a document is attached to, for the vault page."""
    return list(uses_of(document).numbers)


def is_attached_to_draft(document: Document) -> bool:
    return uses_of(document).in_draft


def certificate_by_code(*, code: str) -> Certificate | None:
    """Public lookup for /verify/<code>: codes are normalised (case, spaces, dashes)."""
    normalised = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if not normalised or len(normalised) > 32:
        return None
    return (
        Certificate.objects.select_related("document__document_type", "issued_by")
        .filter(verification_code=normalised)
        .first()
    )
