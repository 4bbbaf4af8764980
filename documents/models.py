"""The document vault: each document uploaded once and reused; issued certificates."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Organisation, User
from documents.storage import private_storage
from services.models import DocumentType


def _private_storage():
    return private_storage


class Document(models.Model):
    class ScanStatus(models.TextChoices):
        PENDING = "pending", _("Waiting for virus scan")
        CLEAN = "clean", _("Clean")
        INFECTED = "infected", _("Infected")
        ERROR = "error", _("Could not be scanned")
        # Development and test without a scanner: stored, never called clean, never opened by staff.
        NOT_SCANNED = "not_scanned", _("Not yet checked for viruses")

    class Source(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        ISSUED = "issued", _("Issued by a department")
        COUNTER = "counter", _("Scanned at the counter")

    owner = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="documents")
    owner_organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="documents")
    # What is served: the rendition rewritten by documents.disarm (an issued document: itself).
    # Stored under a server-generated name; the original name is kept only as display text.
    file = models.FileField(storage=_private_storage, max_length=255)
    # The upload as it came, sealed (documents.originals): evidence, never served by any URL.
    # Empty for documents the portal issued itself.
    original = models.FileField(storage=_private_storage, max_length=255, blank=True)
    display_name = models.CharField(_("file name"), max_length=255)
    # SHA-256 and size of the bytes as uploaded (the same bytes twice are stored once).
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveIntegerField()
    # Size of `file`, the bytes served.
    served_size = models.PositiveIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100)
    scan_status = models.CharField(max_length=20, choices=ScanStatus.choices, default=ScanStatus.PENDING)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.UPLOADED)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Removed when its retention ended or its owner asked: the file is gone and the vault no
    # longer lists it; the row stays because the access records name it.
    erased_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner__isnull=False, owner_organisation__isnull=True)
                | models.Q(owner__isnull=True, owner_organisation__isnull=False),
                name="document_has_exactly_one_owner",
            ),
            # The same bytes uploaded twice by one owner are stored once.
            models.UniqueConstraint(
                fields=["owner", "document_type", "sha256"],
                condition=models.Q(owner__isnull=False),
                name="document_unique_bytes_per_owner",
            ),
            models.UniqueConstraint(
                fields=["owner_organisation", "document_type", "sha256"],
                condition=models.Q(owner_organisation__isnull=False),
                name="document_unique_bytes_per_organisation",
            ),
        ]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return self.display_name

    @property
    def may_be_opened_by_staff(self) -> bool:
        """Staff open only what a virus scanner passed (or a department issued)."""
        return self.scan_status == self.ScanStatus.CLEAN


# The owner may attach these to applications: clean, or stored unscanned where no scanner runs
# (development and test; production refuses uploads instead, so it never has such documents).
USABLE_SCAN_STATUSES = (Document.ScanStatus.CLEAN, Document.ScanStatus.NOT_SCANNED)


class Certificate(models.Model):
    """An e-certificate issued by an `issue` step; verifiable at /verify/<code>."""

    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="certificate")
    verification_code = models.CharField(max_length=32, unique=True)
    issued_by = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="certificates")
    holder_name = models.CharField(max_length=200)
    application_number = models.CharField(max_length=32, db_index=True)
    # Denormalised from the document so "one certificate per application and type" is a constraint.
    document_type = models.ForeignKey(DocumentType, on_delete=models.PROTECT, related_name="certificates", null=True)
    title = models.CharField(max_length=200, blank=True)
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revocation_reason = models.CharField(max_length=500, blank=True)
    # The serial (hex) of the one-document certificate its PDF is signed with
    # (documents/signing/authority.py); the issuing CA's revocation list names it once revoked.
    signing_serial = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        constraints = [
            # A retried issue task must never create a second certificate.
            models.UniqueConstraint(
                fields=["application_number", "document_type"], name="certificate_unique_per_application_and_type"
            )
        ]
        indexes = [
            # The revocation list each certificate's signing reads: a department's revoked
            # certificates, a few among millions issued (without it, a scan of every one).
            models.Index(
                fields=["issued_by", "revoked_at"],
                condition=models.Q(revoked_at__isnull=False),
                name="certificate_revoked",
            )
        ]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")

    def __str__(self) -> str:
        return self.verification_code
