"""The transactional outbox: a task to send, written with the state change (workflows/outbox.py sends it)."""

from django.db import models
from django.utils import timezone


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
    # The W3C traceparent of the span that wrote the row (lib/trace_context.py), "" without
    # tracing: every send of the row, the relay's re-sends too, joins the trace that caused it.
    traceparent = models.CharField(max_length=55, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(confirmed_at__isnull=True), name="outbox_unconfirmed"
            ),
            models.Index(fields=["next_attempt_at"], condition=models.Q(confirmed_at__isnull=True), name="outbox_due"),
            # The pruning of confirmed rows past OUTBOX_RETENTION_DAYS (workflows/growth/pruning.py).
            models.Index(
                fields=["confirmed_at"], condition=models.Q(confirmed_at__isnull=False), name="outbox_confirmed"
            ),
        ]
