"""What an uploaded certificate file proves, in the words /verify/ shows.

The signature backend (`documents.signing`) says what the signature proves; the issued
certificate it names (by its signing certificate's serial) adds what the register knows:
its type, its verification code, and whether a department revoked it.
"""

import logging
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile

from documents.models import Certificate
from documents.signing import Finding, Verdict, certificate_signer
from documents.validation import read_pdf_upload

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileCheck:
    verdict: Verdict
    certificate: Certificate | None

    @property
    def finding(self) -> Finding:
        return self.verdict.finding


def certificate_file_check(*, uploaded_file: UploadedFile) -> FileCheck:
    """Checks an uploaded PDF; UploadRejected (one sentence) when it is not a readable PDF.
    The file is read in memory and never stored."""
    content = read_pdf_upload(uploaded_file)
    verdict = certificate_signer().validate(pdf=content)
    certificate = None
    if verdict.serial and verdict.finding != Finding.NOT_OURS:
        certificate = (
            Certificate.objects.select_related("document__document_type", "document_type", "issued_by")
            .filter(signing_serial=verdict.serial)
            .first()
        )
    if (
        verdict.finding in (Finding.VALID, Finding.PARTLY)
        and certificate is not None
        and certificate.revoked_at is not None
    ):
        # The register is the first to know; the published list says the same on its next fetch.
        # It also answers when the list could not be had (partly verified): revoked is revoked.
        verdict = Verdict(Finding.REVOKED, signer=verdict.signer, signed_at=verdict.signed_at, serial=verdict.serial)
    if verdict.finding != Finding.VALID:
        logger.info(
            "certificate file refused finding=%s serial=%s detail=%s",
            verdict.finding,
            verdict.serial or "-",
            verdict.detail or "-",
        )
    return FileCheck(verdict=verdict, certificate=certificate)
