"""Data-access records (DESIGN §6): every time staff look at an applicant's data.

Viewing a work item's page, revealing a protected field and opening a document each write one
`DataAccessRecord` (who, for which department, whose data, which application and step, what,
when). The citizen reads these rows as "who looked at my data".

The rows are append-only; inserting one takes no lock beyond the row, and the sequencer adds it
to the transparency log afterwards (workflows/transparency/), not the caller.
"""

from django.db import transaction

from accounts.models import User
from documents.models import Document
from workflows.models import ApplicationGroup, DataAccessRecord, WorkItem


def access_record(
    *,
    accessor: User,
    work_item: WorkItem,
    what: str,
    document: Document | None = None,
    field_key: str = "",
) -> DataAccessRecord:
    """Writes one record of a look at the data of `work_item`'s application."""
    application = work_item.application
    with transaction.atomic():
        return DataAccessRecord.objects.create(
            accessor=accessor,
            department_id=work_item.department_id,
            applicant_id=application.applicant_id,
            application=application,
            work_item=work_item,
            document=document,
            what=what,
            field_key=field_key,
        )


def application_viewed(*, accessor: User, work_item: WorkItem) -> DataAccessRecord:
    return access_record(accessor=accessor, work_item=work_item, what=DataAccessRecord.What.VIEW_APPLICATION)


def field_revealed(*, accessor: User, work_item: WorkItem, field_key: str) -> DataAccessRecord:
    return access_record(
        accessor=accessor, work_item=work_item, what=DataAccessRecord.What.REVEAL_FIELD, field_key=field_key
    )


def document_opened(*, accessor: User, work_item: WorkItem, document: Document) -> DataAccessRecord:
    return access_record(
        accessor=accessor, work_item=work_item, what=DataAccessRecord.What.OPEN_DOCUMENT, document=document
    )


def counter_filing_viewed(*, accessor: User, group: ApplicationGroup, department_id: int | None) -> DataAccessRecord:
    """A counter clerk saw the person's data (prefilled answers, vault documents) while filing for them.

    The filing is still a draft, so the record names no application or step.
    """
    with transaction.atomic():
        return DataAccessRecord.objects.create(
            accessor=accessor,
            department_id=department_id,
            applicant_id=group.applicant_id,
            what=DataAccessRecord.What.COUNTER_FILING,
        )
