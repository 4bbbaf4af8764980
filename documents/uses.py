"""Where a vault document is used.

Applications, and the drafts a document is attached to, belong to workflows, which depends on
documents. So documents never reads their tables: workflows registers a `DocumentUsesFinder`
when the apps are ready (`workflows/apps.py`), and documents asks it. Without one, nothing uses
any document.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from documents.models import Document


@dataclass(frozen=True)
class DocumentUses:
    submitted: bool = False  # a submitted application relies on it: it cannot be deleted
    numbers: tuple[str, ...] = ()  # those applications' numbers, for the vault page
    in_draft: bool = False  # a draft uses it: deleting it makes the draft ask again


class DocumentUsesFinder(Protocol):
    def uses(self, documents: Sequence[Document]) -> dict[int, DocumentUses]:
        """The uses of each document (one query for all of them); documents not used are left out."""
        ...

    def release(self, document: Document) -> None:
        """Detaches the document from the drafts that use it, before it is deleted."""
        ...


_finder: DocumentUsesFinder | None = None
NOT_USED = DocumentUses()


def uses_finder_register(finder: DocumentUsesFinder) -> None:
    global _finder
    _finder = finder


def uses_attach(documents: Iterable[Document]) -> list[Document]:
    """The documents, each with `.uses` set, in one look-up."""
    documents = list(documents)
    found = _finder.uses(documents) if _finder and documents else {}
    for document in documents:
        document.uses = found.get(document.pk, NOT_USED)  # type: ignore[attr-defined]
    return documents


def uses_of(document: Document) -> DocumentUses:
    uses = getattr(document, "uses", None)
    if uses is None:
        uses = uses_attach([document])[0].uses  # type: ignore[attr-defined]
    return uses


def uses_release(document: Document) -> None:
    if _finder is not None:
        _finder.release(document)
