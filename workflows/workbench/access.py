"""Data-access records (DESIGN §6): every time staff look at an applicant's data.

Viewing a work item's page, revealing a protected field and opening a document each write one
`DataAccessRecord`; a queue page or search that shows applicants' names writes one per
application shown (in one INSERT); an administrator opening a person or an application in the
admin site writes one (who, for which department, whose data, which application and step, what,
when). The citizen reads these rows as "who looked at my data".

The rows are append-only; inserting one takes no lock beyond the row, and the sequencer adds it
to the transparency log afterwards (workflows/transparency/), not the caller.
"""

from collections.abc import Iterable

from django.db import transaction

from accounts.models import User
from documents.models import Document
from workflows.models import ApplicationGroup, DataAccessRecord, WorkItem
from workflows.workbench.selectors import Visible


def access_record(
    *,
    accessor: User,
    work_item: WorkItem,
    what: str,
    document: Document | None = None,
    field_key: str = "",
    visible: dict[str, list[str]] | None = None,
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
            visible=visible or {},
        )


def application_viewed(*, accessor: User, work_item: WorkItem, visible: Visible) -> DataAccessRecord:
    """The department opened the application and was shown `visible` (its step's needs, as
    answered): the citizen's access log says which department could see which data."""
    return access_record(
        accessor=accessor,
        work_item=work_item,
        what=DataAccessRecord.What.VIEW_APPLICATION,
        visible=visible.as_json(),
    )


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


def queue_listed(*, accessor: User, items: Iterable[WorkItem]) -> int:
    """A clerk's list or search showed these work items with their applicants' names: one
    record per application shown, all written in one INSERT (the page's cost does not grow with
    the rows beyond that one statement). Returns how many were written."""
    seen: dict[int, WorkItem] = {}
    for item in items:
        seen.setdefault(item.application_id, item)
    if not seen:
        return 0
    records = [
        DataAccessRecord(
            accessor=accessor,
            department_id=item.department_id,
            applicant_id=item.application.applicant_id,
            application_id=item.application_id,
            work_item=item,
            what=DataAccessRecord.What.LISTED,
        )
        for item in seen.values()
    ]
    DataAccessRecord.objects.bulk_create(records)
    return len(records)


def admin_viewed(*, accessor: User, person_id: int, application_id: int | None = None) -> DataAccessRecord:
    """An administrator opened a person's record (or one of their applications) in the admin site."""
    return DataAccessRecord.objects.create(
        accessor=accessor,
        applicant_id=person_id,
        application_id=application_id,
        what=DataAccessRecord.What.ADMIN_VIEW,
    )
