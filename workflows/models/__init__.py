"""Applications and the routing engine's state (DESIGN §4–§5).

The database is the truth; the broker is a doorbell. Every state change happens in one
transaction that locks the application row and writes work items, timers, events and
outbox rows together.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.db import connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Organisation, User
from documents.models import Document
from services.models import DocumentType, LifeEvent, Service, ServiceVersion, in_language
from workflows.models.calendar import CalendarDay as CalendarDay
from workflows.models.calendar import CalendarYear as CalendarYear
from workflows.models.calendar import ClockStop as ClockStop


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
        indexes = [models.Index(fields=["applicant", "submitted_at"])]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None


class GroupDocument(models.Model):
    """A vault document attached to a draft or submission for one required document type."""

    group = models.ForeignKey(ApplicationGroup, on_delete=models.CASCADE, related_name="documents")
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="attachments")
    attached_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "document_type"], name="group_document_unique_type")]


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
    statutory_due_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["applicant", "status"]), models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class NumberSequence(models.Model):
    """Readable application numbers (2026-MKT-000123), allocated inside the submit transaction
    under a row lock so a retried submit never takes two numbers."""

    prefix = models.CharField(max_length=20, unique=True)  # "2026-MKT"
    last = models.PositiveIntegerField(default=0)


class WorkItem(models.Model):
    """One route step of one application, in one round (a transfer or correction may add rounds)."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("Review")
        AUTOMATIC = "automatic", _("Automatic")
        ISSUE = "issue", _("Issue certificate")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("In progress")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Not needed")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Delayed — being handled")

    class Decision(models.TextChoices):
        NONE = "", _("None")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CORRECTION = "correction", _("Correction requested")

    LIVE = (Status.WAITING, Status.OPEN, Status.CLAIMED, Status.FAILED)
    FINISHED = (Status.DONE, Status.SKIPPED, Status.CANCELLED)

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="work_items")
    step_key = models.CharField(max_length=64)
    # What screens call the step, in both languages, fixed when the step opens (the route's
    # label, or "<kind> — <department>" when the route gives none): never the raw key.
    label_en = models.CharField(max_length=200, blank=True)
    label_zh = models.CharField(max_length=200, blank=True)
    round = models.PositiveIntegerField(default=1)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="work_items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    assignee = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="work_items")
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True, default="")
    decision_reasons = models.JSONField(default=list, blank=True)
    decision_note = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)  # what an automatic handler produced
    attempts = models.PositiveIntegerField(default=0)
    sla_days = models.PositiveIntegerField(null=True, blank=True)
    statutory_due_at = models.DateTimeField(null=True, blank=True)
    # The statutory clock stops while the applicant owes a correction.
    clock_stopped_at = models.DateTimeField(null=True, blank=True)
    # The one correction request of this round: {"fields", "materials", "message", "requested_at",
    # "requested_by", "answered_at"}; empty when none was asked.
    correction = models.JSONField(default=dict, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "step_key", "round"], name="work_item_unique_step_round")
        ]
        indexes = [
            # The clerk queue: a department's open work by statutory due time (keyset pagination).
            models.Index(fields=["department", "status", "statutory_due_at", "id"], name="work_item_queue"),
            models.Index(fields=["assignee", "status"], name="work_item_assignee"),
            # The clerk queue at scale (workbench selectors): only live review steps, in due
            # order per department, with status and assignee as key columns, so every tab's page
            # and the tab counts are index-only scans that stop after one page.
            models.Index(
                fields=["department", "statutory_due_at", "id", "status", "assignee"],
                name="work_item_live_queue",
                condition=models.Q(kind="review", status__in=["open", "claimed", "waiting"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.step_key}#{self.round}"

    @property
    def step_label(self) -> str:
        return in_language(self.label_en, self.label_zh) or self.step_key


class Timer(models.Model):
    """A deadline held in the database and fired by a beat sweep (never a long Celery ETA)."""

    class Kind(models.TextChoices):
        DEADLINE_WARNING = "deadline_warning", _("Deadline approaching")
        ESCALATION = "escalation", _("Overdue: escalate to supervisor")
        CORRECTION_DEADLINE = "correction_deadline", _("Correction reply deadline")
        CORRECTION_REMINDER = "correction_reminder", _("Correction reminder")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="timers")
    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, null=True, blank=True, related_name="timers")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    fire_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["fire_at"],
                condition=models.Q(fired_at__isnull=True, cancelled_at__isnull=True),
                name="timer_pending",
            )
        ]


class OutboxMessage(models.Model):
    """A task to send, written in the same transaction as the state change that needs it."""

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)  # ids only
    queue = models.CharField(max_length=64, default="default")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Confirmed by the task itself when it runs; a relay re-sends unconfirmed rows.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Sends the broker accepted (a send it refused is not counted): the re-send backoff's exponent.
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # When the relay may send it (again): set at each send from the backoff, so the relay's
    # query is one range scan of the index below. A row written outside `outbox_enqueue` is due.
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(confirmed_at__isnull=True), name="outbox_unconfirmed"
            ),
            models.Index(fields=["next_attempt_at"], condition=models.Q(confirmed_at__isnull=True), name="outbox_due"),
        ]


class Incident(models.Model):
    """An automatic step that ran out of retries: visible, and handled by a supervisor."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RETRIED = "retried", _("Retried")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="incidents")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="incidents")
    error = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resolution_note = models.TextField(blank=True)


# --- Audit rows: append-only and chained by hash (tamper evidence) ---------------------------
# ApplicationEvent and DataAccessRecord rows are never changed or removed through the
# application: save() of an existing row, delete(), QuerySet.update()/delete() raise
# AppendOnlyError, and on PostgreSQL a trigger refuses UPDATE and DELETE (migration
# 0007_audit_chain). Each row's hash = sha256(previous row's hash + "\n" + canonical body),
# one chain per table ordered by id. On PostgreSQL a BEFORE INSERT trigger computes it under
# an advisory lock, whatever way the row is inserted; on SQLite (embedded mode, writers are
# serialised) _do_insert computes it. Create rows as usual: Model.objects.create(...).
# `manage.py verify_audit` (portal/security/audit.py) walks both chains.


class AppendOnlyError(Exception):
    """An audit row was about to be changed or removed through the application."""


def audit_text(value: Any) -> str | None:
    """One field's value as canonical text (None stays None: it is hashed as "~")."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _json_text(value)


def _json_text(value: Any) -> str:
    """PostgreSQL's jsonb text form: keys by length, then bytes; ", " and ": " separators."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_json_text(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def audit_hash(previous_hash: str, fields: Sequence[tuple[str, str | None]]) -> str:
    """sha256 over the previous hash and "name=<byte length>:<text>" (or "name=~") per field.

    The length prefix makes the body unambiguous whatever the text contains; the same
    bytes are built by the PL/pgSQL function audit_field() in migration 0007_audit_chain."""
    body = "".join(f"{name}=~\n" if text is None else f"{name}={len(text.encode())}:{text}\n" for name, text in fields)
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be deleted.")

    def _raw_delete(self, using: str | None) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be deleted.")

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: they cannot be updated.")

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        if connections[self.db].vendor == "postgresql":
            return super().bulk_create(objs, *args, **kwargs)  # the insert trigger chains each row
        objs = list(objs)
        with transaction.atomic(using=self.db):
            for obj in objs:
                obj.save(using=self.db)
        return objs


class ChainHashField(models.CharField):
    """A hash written by the database's insert trigger and read back with RETURNING."""

    db_returning = True


class AuditChainedModel(models.Model):
    # (canonical name, attribute) of the content the hash covers, in order; the migration's
    # PL/pgSQL body function lists the same fields in the same order.
    AUDIT_FIELDS: ClassVar[tuple[str, ...]] = ()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def audit_fields(self, **rendered: str | None) -> list[tuple[str, str | None]]:
        """The hashed content of this row; `rendered` overrides a field's text (the database's
        own jsonb text, when verifying on PostgreSQL)."""
        return [
            (name, rendered[name] if name in rendered else audit_text(getattr(self, name)))
            for name in self.AUDIT_FIELDS
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only: they cannot be deleted.")

    def _do_insert(self, manager: Any, using: str, fields: Any, returning_fields: Any, raw: bool) -> Any:
        if connections[using].vendor == "postgresql":
            return super()._do_insert(manager, using, fields, returning_fields, raw)  # type: ignore[misc]
        # Embedded SQLite: writers are serialised by BEGIN IMMEDIATE, so the last row read here
        # is still the last row at insert time. Values are fixed first (created_at) and inserted
        # as they are (raw), so the hash covers exactly what is stored.
        with transaction.atomic(using=using):
            for field in fields:
                setattr(self, field.attname, field.pre_save(self, True))
            self.previous_hash = (
                type(self)._base_manager.using(using).order_by("-id").values_list("hash", flat=True).first()  # type: ignore[misc]
                or ""
            )
            self.hash = audit_hash(self.previous_hash, self.audit_fields())
            return super()._do_insert(manager, using, fields, returning_fields, True)  # type: ignore[misc]


class ApplicationEvent(AuditChainedModel):
    """Append-only: who did what, when, from which state to which, and why. The citizen's
    timeline and the audit trail are both views of these rows."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=50)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Hash chain (tamper evidence): sha256 over the previous row's hash and this row's content.
    # Set by the database on insert (see AuditChainedModel); whatever a caller passes is replaced.
    previous_hash = ChainHashField(max_length=64, blank=True)
    hash = ChainHashField(max_length=64, blank=True)

    AUDIT_FIELDS = (
        "application_id", "work_item_id", "actor_id", "kind", "from_status", "to_status", "reason", "payload",
        "created_at",
    )  # fmt: skip

    class Meta:
        ordering = ["created_at", "id"]


class TaxpayerNumber(models.Model):
    """The taxpayer number the tax department's handler assigned to one application.

    One per application (a retried or duplicated task finds the existing one), unique overall.
    """

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="taxpayer_number")
    number = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.number


class DataAccessRecord(AuditChainedModel):
    """Every look by staff at an applicant's data: the citizen sees these ("who looked")."""

    class What(models.TextChoices):
        VIEW_APPLICATION = "view_application", _("Viewed the application")
        REVEAL_FIELD = "reveal_field", _("Revealed a protected field")
        OPEN_DOCUMENT = "open_document", _("Opened a document")
        COUNTER_FILING = "counter_filing", _("Saw your details and documents to file for you at the counter")

    accessor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    applicant = models.ForeignKey(User, on_delete=models.PROTECT, related_name="data_access_records")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    what = models.CharField(max_length=30, choices=What.choices)
    field_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    previous_hash = ChainHashField(max_length=64, blank=True)
    hash = ChainHashField(max_length=64, blank=True)

    AUDIT_FIELDS = (
        "accessor_id", "department_id", "applicant_id", "application_id", "work_item_id", "document_id", "what",
        "field_key", "created_at",
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["applicant", "created_at"])]


class Notification(models.Model):
    """One message to one person about one event (workflows/progress/notify.py writes these).

    The subject and body are rendered once, in the recipient's language, when the event
    happens; each channel's sending is a NotificationDelivery.
    """

    class Event(models.TextChoices):
        RECEIPT = "receipt", _("Application received")
        CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
        DECISION = "decision", _("Decision made")
        CERTIFICATE_ISSUED = "certificate_issued", _("Certificate issued")
        CORRECTION_DEADLINE = "correction_deadline", _("Correction deadline approaching")
        STATUTORY_DEADLINE = "statutory_deadline", _("Statutory deadline approaching")
        RATING_INVITATION = "rating_invitation", _("Rate the service")
        FOLLOW_UP_OUTCOME = "follow_up_outcome", _("Follow-up of your rating")
        FOLLOW_UP_DUE = "follow_up_due", _("Poor rating follow-up due")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    context = models.JSONField(default=dict, blank=True)  # plain JSON: numbers, names, dates
    language = models.CharField(max_length=10, default="en")
    subject = models.CharField(max_length=250)
    body = models.TextField()
    sms_text = models.CharField(max_length=500, blank=True)
    link = models.CharField(max_length=300, blank=True)
    # A caller that may run twice (a timer sweep, a retried transition) passes a key: one row.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=models.Q(dedupe_key__isnull=False),
                name="notification_unique_dedupe_key",
            )
        ]
        indexes = [
            # The header's unread count: one index-only probe per page.
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
            models.Index(fields=["user", "created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.user_id}"


class NotificationDelivery(models.Model):
    """Sending one notification through one channel: state, attempts and the last error.

    Unique per (notification, channel): a delivery task that runs twice finds it sent."""

    class Channel(models.TextChoices):
        IN_APP = "in_app", _("In the portal")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message (SMS)")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Failed; will retry")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="notification_delivery_unique_channel")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["pending", "retrying", "sending"]),
                name="notification_delivery_due",
            )
        ]


class NotificationPreference(models.Model):
    """Which channels a person wants besides the in-app inbox (always on)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="notification_preference")
    email = models.BooleanField(_("e-mail"), default=True)
    sms = models.BooleanField(_("text message (SMS)"), default=False)
    phone = models.CharField(_("mobile phone number"), max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class Rating(models.Model):
    """好差评: the applicant's rating of a decided application, or of one department step of it.

    `step_key` is empty for the application as a whole."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="ratings")
    step_key = models.CharField(max_length=64, blank=True, default="")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="ratings")
    applicant = models.ForeignKey(User, on_delete=models.PROTECT, related_name="ratings")
    score = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "step_key"], name="rating_once_per_application_step"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.step_key or '*'}={self.score}"


class RatingFollowUp(models.Model):
    """A poor rating (1 or 2) in the department supervisor's queue, due in 15 working days."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Followed up")

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="follow_up")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="rating_follow_ups")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField()
    outcome = models.TextField(_("what was done"), blank=True)
    handled_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the supervisors were reminded before the due time, and told it had passed: each
    # is claimed by a conditional update, so a reminder goes out once (progress/actions.py).
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["department", "status", "due_at"], name="rating_follow_up_queue")]


class Note(models.Model):
    """An internal note staff write on an application while working a step; never shown to the
    applicant."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notes")
    work_item = models.ForeignKey(WorkItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="notes")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["application", "created_at"], name="note_application")]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.application_id}"


class TransferRequest(models.Model):
    """A clerk asks to hand a review step to a department its route does not name: the step's
    department supervisor approves (the transfer happens) or declines (the clerk carries on)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        LAPSED = "lapsed", _("Lapsed: the step moved on")

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="transfer_requests")
    to_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # At most one request waits per step.
            models.UniqueConstraint(
                fields=["work_item"], condition=models.Q(status="pending"), name="transfer_request_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"transfer request {self.pk} for {self.work_item_id}"
