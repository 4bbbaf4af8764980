"""PAdES B-LT signatures with pyHanko: the default `CertificateSigner`.

Signing: a one-document key (on the PKCS#11 token when one is configured) certified by the
department's issuing CA (`authority.Issuer.certify_document_key`), an RFC 3161 timestamp, and
the chain and revocation lists embedded in the document security store (DSS), so the signature
can be checked years later without reaching us.

Checking: pyHanko's `validate_pdf_signature` against our trust roots, with the revocation
lists as they are now (a document revoked after issue shows as revoked): the list of the CA
the signing certificate names as its distribution point, and the root's. Then its difference
analysis: anything appended after the signature other than validation data is a change.
"""

import datetime
import io
import logging
import re

from asn1crypto import x509 as asn1_x509
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from accounts.models import Department
from documents.models import Certificate
from documents.signing import Finding, Signed, SigningUnavailable, Unchecked, Verdict
from documents.signing.authority import Authority, Issuer, authority
from documents.signing.keys import run_outside_event_loop
from documents.validation import UploadRejected

logger = logging.getLogger(__name__)

FIELD_NAME = "OneDoorSeal"
# The label of one of our revocation lists in a certificate's distribution point URL.
CRL_LABEL = re.compile(r"/verify/pki/onedoor/crls/([-\w]+)/latest\.crl$")


def _name_part(cert: asn1_x509.Certificate, key: str) -> str:
    return str(cert.subject.native.get(key, "") or "")


class PadesSigner:
    def __init__(self, authority_: Authority | None = None) -> None:
        self._authority = authority_

    @property
    def authority(self) -> Authority:
        return self._authority or authority()

    def _revoked(self, issuer: Issuer) -> list[tuple[str, datetime.datetime]]:
        """What `issuer`'s list names: its department's revoked certificates only (the shared
        CA of older documents lists every revoked one; their serials are random, so a serial
        that CA never issued revokes nothing)."""
        rows = Certificate.objects.filter(revoked_at__isnull=False).exclude(signing_serial="")
        if issuer.department_code is not None:
            rows = rows.filter(issued_by__code=issuer.department_code)
        return [(serial, when) for serial, when in rows.values_list("signing_serial", "revoked_at") if when]

    def _crls(self, issuer: Issuer | None, at: datetime.datetime) -> list[bytes]:
        issuing = [issuer.crl(self._revoked(issuer), at=at)] if issuer is not None else []
        return [*issuing, *self.authority.other_crls(at=at).values()]

    def _context(self, issuer: Issuer | None) -> ValidationContext:
        current = self.authority
        return ValidationContext(
            trust_roots=current.trust_roots,
            other_certs=issuer.chain if issuer is not None else [],
            crls=self._crls(issuer, timezone.now()),
            allow_fetching=current.allow_fetching,
            revocation_mode="hard-fail",
        )

    def _context_without_our_lists(self, embedded: EmbeddedPdfSignature) -> ValidationContext:
        """For when our issuing CA cannot be reached to sign its revocation list (its key on a
        token out of reach): the chain the file carries, from our trust roots, with whatever
        revocation information can be had and without failing where there is none. Proves the
        signature ours and the file unchanged, not that it is still unrevoked."""
        current = self.authority
        return ValidationContext(
            trust_roots=current.trust_roots,
            other_certs=list(embedded.other_embedded_certs),
            crls=list(current.other_crls(at=timezone.now()).values()),
            allow_fetching=current.allow_fetching,
            revocation_mode="soft-fail",
        )

    def revocation_list(self, label: str) -> bytes | None:
        now = timezone.now()
        issuer = self.authority.issuer_for_label(label)
        if issuer is not None:
            return issuer.crl(self._revoked(issuer), at=now)
        return self.authority.other_crls(at=now).get(label)

    def _issuer_of(self, cert: asn1_x509.Certificate) -> Issuer | None:
        """Our CA that would have issued `cert`, found by the revocation list it names. Raises
        SigningUnavailable when that CA is ours but cannot be reached now."""
        for url in cert.crl_distribution_points_value.native if cert.crl_distribution_points_value else []:
            for name in url.get("distribution_point") or []:
                match = CRL_LABEL.search(str(name))
                if match:
                    return self.authority.issuer_for_label(match.group(1))
        return None

    def sign(self, *, pdf: bytes, department: Department, reference: str) -> Signed:
        try:
            current = self.authority
            issuer = current.issuer(department)
            assert issuer is not None  # made on demand, or SigningUnavailable
            metadata = signers.PdfSignatureMetadata(
                field_name=FIELD_NAME,
                name=department.name_en,
                reason=f"Issued by {department.name_en} ({department.name_zh}) through One Door",
                subfilter=fields.SigSeedSubFilter.PADES,
                embed_validation_info=True,
                use_pades_lta=False,
                validation_context=self._context(issuer),
            )
            with current.keystore.document_signer(
                certify=lambda public_key: issuer.certify_document_key(
                    public_key=public_key, department=department, reference=reference
                ),
                chain=issuer.chain,
            ) as (signer, serial):
                pdf_signer = signers.PdfSigner(metadata, signer=signer, timestamper=current.timestamper)
                output = run_outside_event_loop(lambda: pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))))
        except SigningUnavailable as error:
            logger.warning("certificate signing failed reference=%s error=%s", reference, error)
            raise
        except Exception as error:  # a TSA, key or revocation failure: the issue step retries
            logger.warning("certificate signing failed reference=%s error=%r", reference, error)
            raise SigningUnavailable(str(error)) from error
        return Signed(content=output.getvalue(), serial=serial)

    def validate(self, *, pdf: bytes) -> Verdict:
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            encrypted = reader.encrypted
            signatures = [] if encrypted else reader.embedded_signatures
        except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            raise UploadRejected(
                _("The file could not be read as a PDF. It may be damaged; download the certificate again."),
                code="unreadable",
            ) from error
        if encrypted:
            raise UploadRejected(
                _(
                    "The PDF is protected with a password, so its signature cannot be checked. "
                    "Upload the file as it was issued."
                ),
                code="encrypted",
            )
        if not signatures:
            return Verdict(Finding.NOT_SIGNED)
        # We sign once; a signature added later by someone else is an update after ours.
        embedded = signatures[0]
        unchecked: list[Unchecked] = []
        try:
            try:
                context = self._context(self._issuer_of(embedded.signer_cert))
            except SigningUnavailable as error:
                logger.warning("certificate check without our revocation list: %s", error)
                context = self._context_without_our_lists(embedded)
                unchecked.append(Unchecked.REVOCATION)
            status = run_outside_event_loop(lambda: validate_pdf_signature(embedded, signer_validation_context=context))
        except Exception as error:  # noqa: BLE001 - a signature that cannot be parsed proves nothing
            return Verdict(Finding.CHANGED, detail=f"signature unreadable: {error!r}"[:300])
        cert = status.signing_cert
        serial = format(cert.serial_number, "x")
        signer = _name_part(cert, "common_name")
        timestamp = status.timestamp_validity
        signed_at = timestamp.timestamp if timestamp and timestamp.intact and timestamp.valid else None

        def verdict(finding: Finding, detail: str = "") -> Verdict:
            return Verdict(
                finding, signer=signer, signed_at=signed_at, serial=serial, detail=detail, unchecked=tuple(unchecked)
            )

        if not status.intact or not status.valid:
            return verdict(Finding.CHANGED, "signed bytes do not match the signature")
        if status.revoked:
            return verdict(Finding.REVOKED, "certificate revoked")
        if not status.trusted:
            return verdict(Finding.NOT_OURS, "not issued under our trust roots")
        unchanged = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level is not None
            and status.modification_level <= ModificationLevel.LTA_UPDATES
        )
        if not unchanged:
            level = status.modification_level.name if status.modification_level else "unknown"
            return verdict(Finding.CHANGED, f"updated after signing ({level})")
        if not (timestamp and timestamp.trusted):
            # Our signature on unchanged bytes, but the time is not attested: a timestamp token
            # lives outside the signed bytes, so it can be stripped without touching them.
            unchecked.insert(0, Unchecked.TIMESTAMP)
        if unchecked:
            return verdict(Finding.PARTLY, "could not check: " + ", ".join(unchecked))
        return verdict(Finding.VALID)
