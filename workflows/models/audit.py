"""Append-only records: application events (the timeline and the audit trail) and data-access
records (who looked at whose data). Each row becomes a leaf of the transparency log
(workflows.models.transparency; docs/transparency.md) after it commits.
"""

from collections.abc import Iterable
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from documents.models import Document
from workflows.models.applications import Application
from workflows.models.work import WorkItem


class AppendOnlyError(Exception):
    """An audit row was about to be changed or removed through the application."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be deleted.")

    def _raw_delete(self, using: str | None) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be deleted.")

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be updated.")


class AppendOnlyModel(models.Model):
    """Rows are inserted, never changed or removed: save() of an existing row, delete() and
    the queryset's update()/delete() raise AppendOnlyError, and the database refuses UPDATE and
    DELETE by trigger (migration 0007_audit_chain, kept by 0017_transparency_log). Inserting
    takes no lock beyond the row itself; the sequencer adds the row to the log afterwards."""

    # The row's content a leaf of the transparency log covers (besides the table and the id).
    LOG_FIELDS: ClassVar[tuple[str, ...]] = ()
    # Fields added to a model after its rows were first logged: a leaf covers them only when
    # they hold something, so the leaves of rows written before keep the hash already logged.
    LOG_FIELDS_WHEN_SET: ClassVar[tuple[str, ...]] = ()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only: they cannot be deleted.")


class ApplicationEvent(AppendOnlyModel):
    """Append-only: who did what, when, from which state to which, and why. The citizen's
    timeline and the audit trail are both views of these rows."""

    class Kind(models.TextChoices):
        """Every kind of event the engine records; the labels are what the clerk's history says."""

        APPLICATION_SUBMITTED = "application_submitted", _("Application submitted")
        ROUTING_STARTED = "routing_started", _("Routing started")
        STEP_OPENED = "step_opened", _("Step opened")
        STEP_SKIPPED = "step_skipped", _("Step not needed")
        STEP_CLAIMED = "step_claimed", _("Claimed")
        STEP_RELEASED = "step_released", _("Put back in the queue")
        STEP_ASSIGNED = "step_assigned", _("Assigned by a supervisor")
        STEP_REASSIGNED = "step_reassigned", _("Reassigned by a supervisor")
        STEP_APPROVED = "step_approved", _("Approved")
        STEP_REJECTED = "step_rejected", _("Rejected")
        STEP_COMPLETED = "step_completed", _("Step completed")
        STEP_FAILED = "step_failed", _("Step failed")
        STEP_RETRIED = "step_retried", _("Step retried by a supervisor")
        STEP_SKIPPED_BY_SUPERVISOR = "step_skipped_by_supervisor", _("Step skipped by a supervisor")
        STEP_CANCELLED_BY_SUPERVISOR = "step_cancelled_by_supervisor", _("Step cancelled by a supervisor")
        STEP_ESCALATED = "step_escalated", _("Escalated: the step is overdue")
        STEP_TRANSFERRED = "step_transferred", _("Transferred to another department")
        TRANSFER_REQUESTED = "transfer_requested", _("Transfer requested (awaiting a supervisor)")
        TRANSFER_DECLINED = "transfer_declined", _("Transfer declined by a supervisor")
        DEADLINE_WARNING = "deadline_warning", _("Deadline approaching")
        CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
        CORRECTION_REMINDER = "correction_reminder", _("Correction reminder sent")
        CORRECTION_SUBMITTED = "correction_submitted", _("Applicant sent the correction")
        CORRECTION_ANSWERED = "correction_answered", _("Correction answered")
        CORRECTION_EXPIRED = "correction_expired", _("Correction not answered in time")
        # A sibling of the bundle took the answer the applicant gave to another step's request.
        CORRECTED_IN_BUNDLE = "corrected_in_bundle", _("Corrected in answer to another department's request")
        APPLICATION_APPROVED = "application_approved", _("Application approved")
        APPLICATION_REJECTED = "application_rejected", _("Application rejected")
        APPLICATION_WITHDRAWN = "application_withdrawn", _("Withdrawn by the applicant")
        # Life events: a step waits for a sibling application's approval and the data it produces.
        BUNDLE_WAITING = "bundle_waiting", _("Waiting for another application of the same request")
        BUNDLE_DATA_RECEIVED = "bundle_data_received", _("Data received from another application of the same request")
        # The sibling it waited for was refused or withdrawn: it cannot go ahead.
        APPLICATION_BUNDLE_STOPPED = "application_bundle_stopped", _("Stopped: an application it needs was not granted")
        # Its retention ended: the answers and documents were removed (the event records that,
        # never the data).
        DATA_REMOVED = "data_removed", _("Answers and documents removed: retention ended")
        # A step still open when the application finished (`<finishing kind>_cancelled`).
        STEP_CANCELLED_ON_APPROVAL = "application_approved_cancelled", _("Step cancelled: the application was approved")
        STEP_CANCELLED_ON_REJECTION = (
            "application_rejected_cancelled",
            _("Step cancelled: the application was rejected"),
        )
        STEP_CANCELLED_ON_WITHDRAWAL = (
            "application_withdrawn_cancelled",
            _("Step cancelled: the application was withdrawn"),
        )
        STEP_CANCELLED_ON_BUNDLE_STOP = (
            "application_bundle_stopped_cancelled",
            _("Step cancelled: an application it needs was not granted"),
        )

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=50, choices=Kind.choices)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    LOG_FIELDS = (
        "application_id", "work_item_id", "actor_id", "kind", "from_status", "to_status", "reason", "payload",
        "created_at",
    )  # fmt: skip

    class Meta:
        ordering = ["created_at", "id"]


class DataAccessRecord(AppendOnlyModel):
    """Every look by staff at an applicant's data: the citizen sees these ("who looked")."""

    class What(models.TextChoices):
        VIEW_APPLICATION = "view_application", _("Viewed the application")
        REVEAL_FIELD = "reveal_field", _("Revealed a protected field")
        OPEN_DOCUMENT = "open_document", _("Opened a document")
        COUNTER_FILING = "counter_filing", _("Saw your details and documents to file for you at the counter")
        IDENTITY_CHECK = "identity_check", _("Checked your identity card at the counter")
        DELEGATE_VIEW = "delegate_view", _("Looked at your application, acting for you under your mandate")
        ADMIN_VIEW = "admin_view", _("Opened your record in the administration site")
        LISTED = "listed", _("Saw your name in a list or search of applications")

    accessor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    applicant = models.ForeignKey(User, on_delete=models.PROTECT, related_name="data_access_records")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    what = models.CharField(max_length=30, choices=What.choices)
    field_key = models.CharField(max_length=100, blank=True)
    # What the department was shown when it opened the application (data minimisation): the
    # data-element keys and document-type codes of its step, {"elements": [...], "documents": [...]}.
    # Empty for other kinds of look, and for looks recorded before it was kept.
    visible = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    LOG_FIELDS = (
        "accessor_id", "department_id", "applicant_id", "application_id", "work_item_id", "document_id", "what",
        "field_key", "created_at",
    )  # fmt: skip
    # Added after the log began: in a row's leaf only when set, so earlier leaves keep their hash.
    LOG_FIELDS_WHEN_SET = ("visible",)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["applicant", "created_at"])]
