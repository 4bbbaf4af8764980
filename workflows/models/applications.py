"""Applications as the applicant submits them: the draft and its group, the applications it
creates, the documents it carries, and their numbers.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User
from documents.models import Document
from services.models import DocumentType, LifeEvent, Service, ServiceVersion
from workflows.models.mandates import Mandate


class ApplicationGroup(models.Model):
    """What an applicant fills and submits once: one service, or every service of a life event.

    It is the server-side draft from the first step (data typed so far, documents picked),
    and after submission it groups the applications it created, one per service.
    """

    applicant = models.ForeignKey(User, on_delete=models.PROTECT, related_name="application_groups")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True)
    # A counter clerk filing for a walk-in person, with that person's recorded consent.
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    consent_recorded_at = models.DateTimeField(null=True, blank=True)
    # The counter's in-person identity check for this visit: no check, no filing.
    identity_document = models.CharField(max_length=30, blank=True)
    identity_document_number = models.CharField(max_length=40, blank=True)
    identity_checked_at = models.DateTimeField(null=True, blank=True)

    # A delegate preparing it for the applicant under this mandate (the applicant is the principal).
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, null=True, blank=True, related_name="groups")
    life_event = models.ForeignKey(LifeEvent, on_delete=models.PROTECT, null=True, blank=True)
    # The versions the draft was started against; each application keeps its own forever.
    versions = models.ManyToManyField(ServiceVersion, related_name="+")
    data = models.JSONField(default=dict, blank=True)  # {element key: value}
    # Keys whose verified profile value the applicant changed: flagged for the clerk.
    changed_verified = models.JSONField(default=list, blank=True)
    # Bumped on every save of the draft; lets two tabs detect each other's changes.
    revision = models.PositiveIntegerField(default=0)
    # {element key: revision that last changed it}: a save based on an older revision merges
    # field by field and reports a conflict only for a field the other tab also changed.
    field_revisions = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    purge_reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="group_unique_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["applicant", "submitted_at"]),
            models.Index(fields=["submitted_at"], name="group_submitted_at"),  # dashboard rollups
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None


class GroupDocument(models.Model):
    """A vault document attached to a draft or submission for one required document type.

    The bundle's applications share it (`application` empty). When a correction replaces it
    after one of them has finished, that one keeps the document it was decided on in a row of
    its own (`application` set): a finished application is never changed by its siblings.
    """

    group = models.ForeignKey(ApplicationGroup, on_delete=models.CASCADE, related_name="documents")
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="attachments")
    application = models.ForeignKey(
        "Application", on_delete=models.CASCADE, null=True, blank=True, related_name="kept_documents"
    )
    attached_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "document_type"],
                condition=models.Q(application__isnull=True),
                name="group_document_unique_type",
            ),
            models.UniqueConstraint(
                fields=["application", "document_type"],
                condition=models.Q(application__isnull=False),
                name="group_document_kept_unique_type",
            ),
        ]


class Application(models.Model):
    """One service's application, pinned to the version it was submitted against."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        IN_PROGRESS = "in_progress", _("In progress")
        AWAITING_APPLICANT = "awaiting_applicant", _("Waiting for you")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    FINISHED = (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN)

    group = models.ForeignKey(ApplicationGroup, on_delete=models.PROTECT, related_name="applications")
    # Denormalised from the group so every scoping query is a single-table filter.
    applicant = models.ForeignKey(User, on_delete=models.PROTECT, related_name="applications")
    number = models.CharField(max_length=32, unique=True)  # e.g. 2026-MKT-000123
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="applications")
    service_version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    data = models.JSONField(default=dict)  # the data as submitted (and as corrected)
    # Codes of the sibling services of its life event whose approval it still waits for, with the
    # data that approval produces (route steps' `waits_for`, workflows.engine.bundles). Empty for
    # nearly every application, so the engine checks it without a query.
    waiting_for = models.JSONField(default=list, blank=True)
    statutory_due_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["applicant", "status"]),
            # A form's prefill reads the person's latest approved applications (apply/selectors/
            # reuse.py): an ordered scan that stops at the few it looks at, however many there are.
            models.Index(
                fields=["applicant", "-decided_at", "-id"],
                condition=models.Q(status="approved"),
                name="application_approved_latest",
            ),
            models.Index(fields=["status", "submitted_at"]),
            # The dashboard rollups recompute a day's submissions and decisions.
            models.Index(fields=["submitted_at"], name="application_submitted_at"),
            models.Index(
                fields=["decided_at"], condition=models.Q(decided_at__isnull=False), name="application_decided_at"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class NumberSequence(models.Model):
    """Readable application numbers (2026-MKT-000123) issued per prefix. On PostgreSQL a
    database sequence per prefix issues them (`workflows.numbers`) and this row only says where
    a new sequence starts; on SQLite this row is the counter."""

    prefix = models.CharField(max_length=20, unique=True)  # "2026-MKT"
    last = models.PositiveIntegerField(default=0)


class TaxpayerNumber(models.Model):
    """The taxpayer number the tax department's handler assigned to one application.

    One per application (a retried or duplicated task finds the existing one), unique overall.
    """

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="taxpayer_number")
    number = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.number
