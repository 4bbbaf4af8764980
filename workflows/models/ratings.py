"""Ratings of a service (好差评) and the follow-up a poor rating gets from the department."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from workflows.models.applications import Application


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
        indexes = [
            models.Index(fields=["department", "status", "due_at"], name="rating_follow_up_queue"),
            # The administrator's dashboard: open follow-ups of every department, soonest due first.
            models.Index(fields=["due_at", "id"], name="rating_follow_up_open", condition=models.Q(status="open")),
        ]
