"""Payments of fees inside a route, their refunds, the provider's webhooks and the daily
reconciliation. Every amount is an integer of fen (分); there is no other money type here.

A payment's states follow GOV.UK Pay: created → started → submitted → success, failed,
cancelled or error. The last four are final, with one exception: a success the provider reports
for a payment we had given up on (expired) is recorded, never lost, and refunded.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from documents.models import Document
from workflows.models import Application, WorkItem


class Payment(models.Model):
    class State(models.TextChoices):
        CREATED = "created", _("Created")
        STARTED = "started", _("Started")
        SUBMITTED = "submitted", _("Submitted")
        SUCCESS = "success", _("Paid")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        ERROR = "error", _("Error")

    LIVE = (State.CREATED, State.STARTED, State.SUBMITTED)
    FINAL = (State.SUCCESS, State.FAILED, State.CANCELLED, State.ERROR)
    # How far along each state is: a report of an earlier state never moves a payment back.
    ORDER = {State.CREATED: 0, State.STARTED: 1, State.SUBMITTED: 2}

    class Failure(models.TextChoices):
        NONE = "", _("None")
        EXPIRED = "expired", _("Not completed within 90 minutes")
        DECLINED = "declined", _("Declined")
        CANCELLED_BY_USER = "cancelled_by_user", _("Cancelled by the payer")
        PROVIDER = "provider", _("Provider error")

    # Ours, given to the provider as its reference and idempotency key: "PAY-" + 20 hex digits.
    reference = models.CharField(max_length=40, unique=True)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, related_name="payments")
    # The payment step's department: whose finance staff see it.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="payments")
    payer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="payments")
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    refunded_fen = models.PositiveBigIntegerField(_("refunded (fen)"), default=0)
    description = models.CharField(max_length=200)
    state = models.CharField(max_length=20, choices=State.choices, default=State.CREATED)
    failure = models.CharField(max_length=30, choices=Failure.choices, blank=True, default="")
    provider = models.CharField(max_length=40)
    provider_id = models.CharField(max_length=80, blank=True, default="")
    next_url = models.URLField(max_length=500, blank=True, default="")
    idempotency_key = models.CharField(max_length=200)
    # A success we no longer wanted (expired, withdrawn, already paid): recorded and refunded.
    unwanted = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    receipt = models.ForeignKey(Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A retry with the same key is the same payment: never a second charge.
            models.UniqueConstraint(fields=["payer", "idempotency_key"], name="payment_unique_idempotency_key"),
            # At most one payment in flight per application: "pay" pressed twice, in two tabs or
            # by two devices, reuses it.
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(state__in=["created", "started", "submitted"]),
                name="payment_one_live",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_id"], condition=~Q(provider_id=""), name="payment_unique_provider_id"
            ),
            models.CheckConstraint(condition=Q(refunded_fen__lte=F("amount_fen")), name="payment_refund_within_amount"),
        ]
        indexes = [
            models.Index(fields=["department", "-created_at", "-id"], name="payment_department_list"),
            models.Index(
                fields=["expires_at"],
                condition=Q(state__in=["created", "started", "submitted"]),
                name="payment_live_expiry",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def refundable_fen(self) -> int:
        return self.amount_fen - self.refunded_fen if self.state == self.State.SUCCESS else 0

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE


class PaymentEvent(models.Model):
    """Every change of a payment's state, and where the news came from."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Portal")
        RETURN = "return", _("Payer came back")
        WEBHOOK = "webhook", _("Provider notification")
        EXPIRY = "expiry", _("Expiry sweep")
        RECONCILIATION = "reconciliation", _("Reconciliation")

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    source = models.CharField(max_length=20, choices=Source.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class Refund(models.Model):
    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        SUCCESS = "success", _("Refunded")
        ERROR = "error", _("Error")

    class Reason(models.TextChoices):
        STAFF = "staff", _("Given by finance staff")
        WITHDRAWN = "withdrawn", _("Application withdrawn")
        REJECTED = "rejected", _("Application refused")
        UNWANTED = "unwanted", _("Paid when no payment was due")

    reference = models.CharField(max_length=40, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SUBMITTED)
    provider_refund_id = models.CharField(max_length=80, blank=True, default="")
    # The amount still refundable the request was made against (GOV.UK Pay's
    # refund_amount_available): a second request quoting the same figure is refused.
    available_before_fen = models.PositiveBigIntegerField()
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    receipt = models.ForeignKey(Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="refund_positive"),
        ]

    def __str__(self) -> str:
        return self.reference


class WebhookEvent(models.Model):
    """A provider notification we accepted (signature, payment and amount checked); its event id
    is unique, so the second delivery of the same event is recognised and changes nothing."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="webhooks")
    state = models.CharField(max_length=20)
    body = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique"),
        ]


class ReconciliationRun(models.Model):
    """One day's comparison of our payments with the provider's report."""

    provider = models.CharField(max_length=40)
    day = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    compared = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-day", "-pk"]
        constraints = [models.UniqueConstraint(fields=["provider", "day"], name="reconciliation_one_per_day")]


class Mismatch(models.Model):
    class Kind(models.TextChoices):
        MISSING_AT_PROVIDER = "missing_at_provider", _("We have it; the provider does not")
        MISSING_HERE = "missing_here", _("The provider has it; we do not")
        STATE = "state", _("States differ")
        AMOUNT = "amount", _("Amounts differ")
        REFUNDED = "refunded", _("Refunded amounts differ")

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="mismatches")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, null=True, blank=True, related_name="mismatches")
    # Null when the provider reports a payment we cannot place: administrators see those.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    provider_id = models.CharField(max_length=80, blank=True)
    ours = models.CharField(max_length=100, blank=True)
    theirs = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["pk"]
