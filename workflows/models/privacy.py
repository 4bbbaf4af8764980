"""A person's rights over their data and the retention of applications: data exports, erasure
requests and what the retention sweep removed.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from documents.storage import private_storage
from services.models import Service
from workflows.models.applications import Application


def _private_storage():
    return private_storage


class DataExport(models.Model):
    """ "Download everything we hold about you": built in the background into a ZIP that only its
    owner can download, for seven days."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Could not be prepared")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    file = models.FileField(storage=_private_storage, max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id}"


class ErasureRequest(models.Model):
    """A person asked for their account to be erased: what was erased then, and what was kept
    (and until when) because the law requires it."""

    # The user row stays (applications and access records point at it), anonymised.
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="erasure_requests")
    created_at = models.DateTimeField(auto_now_add=True)
    erased = models.JSONField(default=dict)  # {"drafts": 2, "documents": 1, …}
    kept = models.JSONField(default=list)  # [{"number": …, "until": "2036-01-01"}, …]

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"erasure of {self.user_id}"


class RetentionRecord(models.Model):
    """The retention sweep removed a finished application's answers and documents: when, and
    how much (never the data itself). One per application, so a second sweep changes nothing."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="retention_record")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    finished_at = models.DateTimeField()
    retention_days = models.PositiveIntegerField()
    removed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    answers_removed = models.PositiveIntegerField(default=0)
    documents_removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-removed_at"]
        verbose_name = _("retention record")

    def __str__(self) -> str:
        return f"retention of {self.application_id}"
