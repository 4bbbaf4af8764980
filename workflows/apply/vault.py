"""The vault's "in use" rule, told to documents (`documents.uses`): a document attached to a
submitted application cannot be deleted (the department relies on it); one attached only to
drafts can, and the drafts then ask for the material again."""

from collections.abc import Sequence

from documents.models import Document
from documents.uses import DocumentUses
from workflows.models import GroupDocument


class AttachmentUses:
    """Registered as the vault's uses finder when the apps are ready (workflows/apps.py)."""

    def uses(self, documents: Sequence[Document]) -> dict[int, DocumentUses]:
        attachments = (
            GroupDocument.objects.filter(document_id__in=[document.pk for document in documents])
            .select_related("group")
            .prefetch_related("group__applications")
        )
        numbers: dict[int, set[str]] = {}
        submitted: set[int] = set()
        in_draft: set[int] = set()
        for attachment in attachments:
            group = attachment.group
            if group.submitted_at is None:
                in_draft.add(attachment.document_id)
                continue
            submitted.add(attachment.document_id)
            found = [application.number for application in group.applications.all()]
            numbers.setdefault(attachment.document_id, set()).update(found or ([group.number] if group.number else []))
        return {
            document_id: DocumentUses(
                submitted=document_id in submitted,
                numbers=tuple(sorted(numbers.get(document_id, ()))),
                in_draft=document_id in in_draft,
            )
            for document_id in submitted | in_draft
        }

    def release(self, document: Document) -> None:
        GroupDocument.objects.filter(document=document, group__submitted_at__isnull=True).delete()
