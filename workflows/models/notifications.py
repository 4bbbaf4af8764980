"""Notifications: one message to one person about one event, its deliveries per channel, and each
person's channel preferences.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from workflows.models.applications import Application


class Notification(models.Model):
    """One message to one person about one event (workflows/notifications/notify.py writes these).

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
        ACTED_FOR = "acted_for", _("Someone acted for you under your mandate")
        MANDATE_OFFERED = "mandate_offered", _("A mandate was offered to you")
        APPOINTMENT_BOOKED = "appointment_booked", _("Appointment booked")
        APPOINTMENT_REMINDER = "appointment_reminder", _("Appointment tomorrow")
        APPOINTMENT_MOVED = "appointment_moved", _("Appointment moved")
        APPOINTMENT_CANCELLED = "appointment_cancelled", _("Appointment cancelled")
        OFFER_MADE = "offer_made", _("A service is offered to you")
        OFFER_GRANTED = "offer_granted", _("A service was granted to you without a request")

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
    # Files an e-mail carries (an appointment's .ics): [{"filename", "content_type", "content"}],
    # small text files only.
    attachments = models.JSONField(default=list, blank=True)
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
            # The pruning past NOTIFICATION_RETENTION_DAYS (workflows/growth/pruning.py).
            models.Index(fields=["created_at"], name="notification_created"),
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
            ),
            # The pruning of finished deliveries (workflows/growth/pruning.py).
            models.Index(
                fields=["updated_at"],
                condition=models.Q(state__in=["sent", "failed"]),
                name="notification_delivery_finished",
            ),
        ]


class NotificationPreference(models.Model):
    """Which channels a person wants besides the in-app inbox (always on)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="notification_preference")
    email = models.BooleanField(_("e-mail"), default=True)
    sms = models.BooleanField(_("text message (SMS)"), default=False)
    phone = models.CharField(_("mobile phone number"), max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
