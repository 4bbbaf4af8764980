"""Signed certificates: the signature backend, chosen by `settings.CERTIFICATE_SIGNER`.

A backend signs an issued certificate's PDF for its department and, given any PDF, says what
its signature proves. The default is PAdES B-LT with pyHanko (`documents.signing.pades`); a
national profile (SM2/SM3 seals, OFD) is another class with the same two methods.
"""

import datetime
import enum
import functools
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import Department


class SigningUnavailable(Exception):
    """The document could not be signed now (timestamp authority down, key not configured).

    Raised before anything is stored: the issue step retries, then opens an incident."""


@dataclass(frozen=True)
class Signed:
    content: bytes
    # The serial number (hex) of the certificate that signed it: revoking the e-certificate
    # revokes this one, and the published revocation list names it.
    serial: str


class Finding(enum.StrEnum):
    VALID = "valid"  # signed by us, timestamped, unchanged, not revoked
    REVOKED = "revoked"  # signed by us and unchanged, but the certificate was revoked
    CHANGED = "changed"  # signed by us, then changed (edited bytes or an update appended)
    NOT_OURS = "not_ours"  # signed, but not by a certificate of ours
    NOT_SIGNED = "not_signed"  # a PDF with no signature at all
    # Signed by us and unchanged, but something could not be checked (`Verdict.unchecked`):
    # neither genuine nor refused, and the page says which part is missing.
    PARTLY = "partly"


class Unchecked(enum.StrEnum):
    """What a partly verified signature lacks."""

    # No trusted timestamp: when it was signed is not attested (it was stripped, or never added).
    TIMESTAMP = "timestamp"
    # Revocation information could not be had just now (a key or a published list out of reach).
    REVOCATION = "revocation"


@dataclass(frozen=True)
class Verdict:
    finding: Finding
    signer: str = ""  # who the signing certificate names (a department)
    signed_at: datetime.datetime | None = None  # the time the trusted timestamp attests
    serial: str = ""  # the signing certificate's serial (hex), to find the e-certificate
    detail: str = ""  # a short technical reason, for the log
    unchecked: tuple[Unchecked, ...] = ()  # for PARTLY: what could not be checked


class CertificateSigner(Protocol):
    def sign(self, *, pdf: bytes, department: Department, reference: str) -> Signed:
        """The PDF signed for `department`; `reference` (the verification code) is named in the
        signing certificate. Raises SigningUnavailable when it cannot sign now."""
        ...

    def validate(self, *, pdf: bytes) -> Verdict:
        """What the PDF's signature proves. Raises documents.validation.UploadRejected when the
        bytes are not a PDF that can be read (damaged, encrypted)."""
        ...

    def revocation_list(self, label: str) -> bytes | None:
        """The current revocation list (DER) published under `label`, or None if there is none."""
        ...


@functools.cache
def certificate_signer() -> CertificateSigner:
    return import_string(settings.CERTIFICATE_SIGNER)()
