"""E-certificates: a PDF in the holder's vault with a verification code and a QR code.

`certificate_issue` is called by the engine's `issue` step (possibly retried): it is
idempotent per (application number, document type), backed by a unique constraint.
Anyone can check a certificate at /verify/<code>; the page shows only validity, type,
issuing department, issue date and the holder's name masked.

The PDF is signed (PAdES B-LT, `documents.signing`) before anything is stored: when signing
fails (the timestamp authority is down), nothing is stored and the exception goes up to the
issue step, which retries with backoff and then opens an incident a supervisor can retry. The
approval that led to the issue step is already recorded; only the certificate waits.
"""

import datetime
import io
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Organisation, User
from documents.actions import document_issue
from documents.fonts import LATIN_FONT, font_for, fonts_register
from documents.models import Certificate
from documents.signing import certificate_signer
from documents.storage import private_storage
from services.models import DocumentType

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L, U: a code read aloud or typed from paper is unambiguous. 30^16 ≈ 2^78.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 16


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """ABCD-EFGH-JKMN-PQRS: easier to read and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def verification_url(code: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("documents:verify", args=[code])


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\u3000" <= ch <= "\u303f"


def mask_name(name: str) -> str:
    """王小明 → 王*明, 王明 → 王*, Alice Wang → A**** W***: enough to recognise, not to identify."""
    name = " ".join((name or "").split())
    if not name:
        return ""
    if any(_is_cjk(ch) for ch in name) and " " not in name:
        if len(name) <= 2:
            return name[0] + "*"
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split(" "))


def render_certificate_pdf(
    *,
    document_type: DocumentType,
    department: Department,
    holder_name: str,
    application_number: str,
    title: str,
    details: dict[str, str],
    code: str,
    issued_at: datetime.datetime,
    valid_until: datetime.date | None,
) -> bytes:
    """An A4 certificate: bilingual heading, the facts, the code and a QR code to the public check."""
    # reportlab is loaded where a PDF is drawn (the worker's issue step), not by the web process.
    import segno
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    fonts_register()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=False)
    pdf.setTitle(f"{document_type.name_en} {application_number}")
    pdf.setAuthor(department.name_en)
    width, height = A4
    y = height - 35 * mm

    def line(text: str, *, size: float = 11, bold: bool = False, centre: bool = False, gap: float = 7) -> None:
        nonlocal y
        pdf.setFont(font_for(text, bold=bold), size)
        if centre:
            pdf.drawCentredString(width / 2, y, text)
        else:
            pdf.drawString(25 * mm, y, text)
        y -= gap * mm

    pdf.setLineWidth(2)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    line(f"{department.name_zh} · {department.name_en}", size=11, centre=True, gap=14)
    line(document_type.name_zh, size=26, centre=True, gap=12)
    line(document_type.name_en, size=20, bold=True, centre=True, gap=12)
    if title and title not in {document_type.name_en, document_type.name_zh}:
        line(title, size=14, centre=True, gap=14)
    line(f"持证人 Holder: {holder_name}", size=13, gap=9)
    line(f"申请编号 Application number: {application_number}", gap=9)
    line(f"签发日期 Issued: {timezone.localtime(issued_at).date().isoformat()}", gap=9)
    validity = valid_until.isoformat() if valid_until else "长期 Until withdrawn"
    line(f"有效期至 Valid until: {validity}", gap=12)
    for label, value in details.items():
        line(f"{label}: {value}", gap=8)
        if y < 80 * mm:
            break

    url = verification_url(code)
    qr_png = io.BytesIO()
    segno.make(url, error="m").save(qr_png, kind="png", scale=6, border=2)
    qr_png.seek(0)
    pdf.drawImage(ImageReader(qr_png), 25 * mm, 22 * mm, width=40 * mm, height=40 * mm)
    pdf.setFont(font_for("验证码"), 11)
    pdf.drawString(72 * mm, 52 * mm, "验证码 Verification code:")
    pdf.setFont("Courier-Bold", 16)
    pdf.drawString(72 * mm, 44 * mm, format_code(code))
    pdf.setFont(LATIN_FONT, 9)
    pdf.drawString(72 * mm, 36 * mm, url)
    pdf.setFont(font_for("扫码"), 9)
    pdf.drawString(72 * mm, 29 * mm, "扫码或访问网址核验真伪 Scan or visit the address to check this certificate.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def certificate_issue(
    *,
    owner: User,
    document_type: DocumentType,
    department: Department,
    holder_name: str,
    application_number: str,
    title: str,
    details: dict[str, str],
    valid_until: datetime.date | None = None,
    organisation: Organisation | None = None,
) -> Certificate:
    """Issues the certificate into the owner's vault (the organisation's, for an application made
    on its behalf), or returns the one already issued."""
    existing = Certificate.objects.filter(application_number=application_number, document_type=document_type).first()
    if existing is not None:
        return existing
    issued_at = timezone.now()
    if valid_until is None and document_type.validity_days:
        valid_until = timezone.localdate() + datetime.timedelta(days=document_type.validity_days)
    code = new_verification_code()
    unsigned = render_certificate_pdf(
        document_type=document_type,
        department=department,
        holder_name=holder_name,
        application_number=application_number,
        title=title,
        details=details,
        code=code,
        issued_at=issued_at,
        valid_until=valid_until,
    )
    signed = certificate_signer().sign(pdf=unsigned, department=department, reference=format_code(code))
    stored_name: str | None = None
    try:
        with transaction.atomic():
            document = document_issue(
                owner=owner,
                document_type=document_type,
                content=signed.content,
                display_name=f"{document_type.name_en} {application_number}.pdf",
                valid_until=valid_until,
                organisation=organisation,
            )
            stored_name = document.file.name
            return Certificate.objects.create(
                document=document,
                document_type=document_type,
                verification_code=code,
                issued_by=department,
                holder_name=holder_name,
                application_number=application_number,
                title=title[:200],
                issued_at=issued_at,
                signing_serial=signed.serial,
            )
    except IntegrityError:
        # A concurrent retry won the race: ours is rolled back, theirs is the certificate.
        if stored_name:
            private_storage.delete(stored_name)
        return Certificate.objects.get(application_number=application_number, document_type=document_type)


def certificate_revoke(*, certificate: Certificate, actor: User, reason: str) -> Certificate:
    """Revokes a certificate; only staff of the issuing department (404 for anyone else)."""
    reason = " ".join((reason or "").split())
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        may_revoke = actor.is_superuser or actor.memberships.filter(department_id=certificate.issued_by_id).exists()
        if not may_revoke:
            raise Http404
        if not reason:
            raise ValidationError(_("Give the reason for revoking this certificate."), code="reason_required")
        if certificate.revoked_at is not None:
            raise ValidationError(_("This certificate has already been revoked."), code="already_revoked")
        certificate.revoked_at = timezone.now()
        certificate.revoked_by = actor
        certificate.revocation_reason = reason[:500]
        certificate.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
    return certificate


def department_ca_rotate(*, department: Department) -> tuple[str, str]:
    """Replaces the department's issuing CA key with a new one, which signs every certificate
    issued from now on. What the earlier key signed stays checkable on /verify/ and revocable:
    its CA is kept and still signs its own revocation list. Returns (old CA, new CA) names."""
    from documents.signing.authority import authority  # pyHanko and the PKI: loaded where used

    current = authority()
    before = current.issuer(department)
    assert before is not None  # made on demand, or SigningUnavailable
    after = current.rotate(department)
    logger.warning(
        "department signing CA rotated department=%s from=%s to=%s",
        department.code,
        before.cert.subject.rfc4514_string(),
        after.cert.subject.rfc4514_string(),
    )
    return before.cert.subject.rfc4514_string(), after.cert.subject.rfc4514_string()
