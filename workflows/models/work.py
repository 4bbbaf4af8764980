"""The engine's state of one application: work items (one route step, one round), timers,
incidents, internal notes and transfer requests.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from lib.text import in_language
from services.models import Service
from workflows.models.applications import Application


class WorkItemQuerySet(models.QuerySet["WorkItem"]):
    def bulk_create(self, objs, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        """Fills each item's service from its application when the caller did not (one query)."""
        objs = list(objs)
        missing = {item.application_id for item in objs if item.service_id is None and item.application_id}
        if missing:
            services = dict(Application.objects.filter(pk__in=missing).values_list("pk", "service_id"))
            for item in objs:
                if item.service_id is None:
                    item.service_id = services.get(item.application_id)
        return super().bulk_create(objs, *args, **kwargs)


class WorkItem(models.Model):
    """One route step of one application, in one round (a transfer or correction may add rounds)."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("Review")
        AUTOMATIC = "automatic", _("Automatic")
        ISSUE = "issue", _("Issue certificate")
        # Waits for an appointment the applicant books and a clerk marks done (appointments app).
        APPOINTMENT = "appointment", _("Appointment")
        PAYMENT = "payment", _("Payment")

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
    # The application's service, carried on the step (set when it opens, never changed): the
    # dashboard's count of today's steps still ahead of their due time groups by department,
    # service and step, and with the service here it is one index-only range scan instead of a
    # join to every application due today (0.6 s every five seconds at ten million). No index of
    # its own: a service with applications cannot be deleted (Application.service protects it),
    # so nothing looks work items up by service.
    service = models.ForeignKey(
        Service, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+", db_index=False
    )
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
    # The step's deadline timers (DESIGN §5.5), as columns rather than rows inserted and
    # cancelled per step: when the deadline warning is due and when the step escalates. Set when
    # a review step opens (or its clock resumes), cleared when it fires, when the clock stops
    # and when the step finishes, in the UPDATE the transition makes anyway; the timer sweep
    # reads them through the partial indexes below.
    warning_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkItemQuerySet.as_manager()

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
            # One clerk's live review steps per department ("mine", and its bounded count), in due
            # order: at a department of 100,000 the planner otherwise intersects two bitmaps of
            # the whole department and the clerk's every step. Status is carried (INCLUDE), so
            # the "mine" and "team" counts (claimed or waiting) are index-only scans too: without
            # it each read the heap for 1,001 rows (5 ms each at ten million applications).
            models.Index(
                fields=["department", "assignee", "statutory_due_at", "id"],
                name="work_item_live_mine",
                condition=models.Q(kind="review", status__in=["open", "claimed", "waiting"]),
                include=["status"],
            ),
            # The supervision dashboard's backlog and overdue list (as of now): live work of every
            # kind per department in due order, carrying what the backlog counts, so both are
            # index-only scans of the departments in scope.
            models.Index(
                fields=["department", "statutory_due_at", "id"],
                include=["clock_stopped_at", "step_key", "application"],
                name="work_item_live_backlog",
                condition=models.Q(status__in=["waiting", "open", "claimed", "failed"]),
            ),
            # The administrator's overdue list (every department): the first 50 in due order. It
            # carries what the dashboard's "ahead" count groups by, so that count (today's live
            # steps not yet due, by department, service and step) reads this index alone.
            models.Index(
                fields=["statutory_due_at", "id"],
                include=["department", "service", "step_key"],
                name="work_item_live_overdue",
                condition=models.Q(status__in=["waiting", "open", "claimed", "failed"], clock_stopped_at__isnull=True),
            ),
            # The dashboard rollups recompute a day's finished steps.
            models.Index(fields=["finished_at"], name="work_item_finished_at", condition=models.Q(status="done")),
            models.Index(
                fields=["warning_at"], condition=models.Q(warning_at__isnull=False), name="work_item_warning_due"
            ),
            models.Index(
                fields=["escalate_at"], condition=models.Q(escalate_at__isnull=False), name="work_item_escalation_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.step_key}#{self.round}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.service_id is None and self.application_id:
            self.service_id = self.application.service_id
        super().save(*args, **kwargs)

    @property
    def step_label(self) -> str:
        return in_language(self.label_en, self.label_zh) or self.step_key


class Timer(models.Model):
    """A deadline held in the database and fired by a beat sweep (never a long Celery ETA):
    a correction's reply deadline and reminder. A step's deadline warning and escalation are
    columns of its work item (`WorkItem.warning_at`, `escalate_at`); rows of those kinds are
    history from before."""

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


# --- Audit rows: append-only, each a leaf of the transparency log ---------------------------
# ApplicationEvent and DataAccessRecord (workflows/models/audit.py) are never changed or removed
# through the application, and the database refuses UPDATE and DELETE by trigger. An insert
# trigger queues each new row (LogPending) in the inserting transaction; the sequencer
# (workflows/transparency/) adds committed rows to an RFC 9162 Merkle tree in batches and signs
# a checkpoint. `manage.py verify_audit` recomputes the tree from the rows.


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
