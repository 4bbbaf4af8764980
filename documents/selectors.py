"""Reads of the vault, scoped to the person asking: outsiders get 404, never a hint."""

import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Organisation, User
from documents.models import USABLE_SCAN_STATUSES, Certificate, Document
from documents.uses import uses_of
from lib.compiled import Compiled
from services.models import DocumentType


def _visible_to(user: User) -> Q:
    return _visible_to_id(user.pk)


def _visible_to_id(user_id: int | None) -> Q:
    # The person's own documents and those of organisations they represent; not those removed
    # when their retention ended or their owner asked. Nobody's (no id): none at all.
    if user_id is None:
        return Q(pk__in=[])
    represented = Organisation.objects.filter(representatives=user_id).values("pk")
    return (Q(owner_id=user_id) | Q(owner_organisation__in=represented)) & Q(erased_at__isnull=True)


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
    return _reusable(user.pk, document_type.pk, on_date or timezone.localdate())


def _reusable(user_id: int, document_type_id: int, on_date: datetime.date) -> QuerySet[Document]:
    return (
        Document.objects.filter(
            _visible_to_id(user_id), document_type_id=document_type_id, scan_status__in=USABLE_SCAN_STATUSES
        )
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on_date))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=on_date))
        .exclude(certificate__revoked_at__isnull=False)
        .select_related("document_type")
        .order_by("-created_at", "-pk")
    )


# Attaching checks one document: compiled once per process (lib/compiled.py).
_reusable_one = Compiled(
    lambda user, document_type, pk, on_date: _reusable(user, document_type, on_date).filter(pk=pk)[:1]
)


def reusable_document(*, user: User, document_type: DocumentType, document_id: int | str) -> Document | None:
    """One document of `reusable_documents` by id, or None (not the user's, or not usable today)."""
    try:
        pk = int(document_id)
    except (TypeError, ValueError):
        return None
    if user.pk is None:
        return None
    return _reusable_one.first(user=user.pk, document_type=document_type.pk, pk=pk, on_date=timezone.localdate())


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
