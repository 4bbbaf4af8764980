"""E-certificates: issued once per application into the holder's vault, verifiable in public, revocable."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from documents.actions import document_delete
from documents.certificates import (
    CODE_ALPHABET,
    certificate_issue,
    certificate_revoke,
    format_code,
    mask_name,
    verification_url,
)
from documents.models import Certificate, Document
from documents.selectors import reusable_documents
from documents.storage import private_storage

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(alice, certificate_type, department_a) -> Certificate:
    return certificate_issue(
        owner=alice,
        document_type=certificate_type,
        department=department_a,
        holder_name="王小明",
        application_number="2026-MKT-000123",
        title="食品经营许可证 Food business licence",
        details={"经营场所 Premises": "北京市朝阳区 1 号", "Business name": "Golden Dumpling"},
    )


def test_issuing_puts_a_pdf_with_the_code_and_qr_in_the_holders_vault(alice, certificate, certificate_type):
    document = certificate.document
    assert document.owner == alice and document.source == Document.Source.ISSUED
    assert document.scan_status == Document.ScanStatus.CLEAN and document.content_type == "application/pdf"
    assert document.valid_until is not None
    assert list(reusable_documents(user=alice, document_type=certificate_type)) == [document]
    content = private_storage.open(document.file.name, "rb").read()
    assert content.startswith(b"%PDF-") and b"STSong-Light" in content and b"/Image" in content.replace(b" ", b"")
    assert len(certificate.verification_code) == 16
    assert set(certificate.verification_code) <= set(CODE_ALPHABET)
    assert format_code(certificate.verification_code).count("-") == 3


def test_the_qr_code_points_at_the_public_verification_page(certificate):
    # Render the QR we print and check the URL it encodes is the public one.
    import segno
    from PIL import Image

    url = verification_url(certificate.verification_code)
    assert url.endswith(f"/verify/{certificate.verification_code}/")
    qr = segno.make(url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png")
    assert Image.open(io.BytesIO(buffer.getvalue())).size[0] > 20


def test_a_retried_issue_returns_the_same_certificate(alice, certificate, certificate_type, department_a):
    again = certificate_issue(
        owner=alice,
        document_type=certificate_type,
        department=department_a,
        holder_name="王小明",
        application_number="2026-MKT-000123",
        title="retry",
        details={},
    )
    assert again.pk == certificate.pk
    assert Certificate.objects.count() == 1 and Document.objects.filter(owner=alice).count() == 1


def test_the_database_refuses_a_second_certificate_for_one_application_and_type(certificate):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(
            document=Document.objects.create(
                owner=certificate.document.owner,
                document_type=certificate.document_type,
                file="x/y/z.pdf",
                display_name="x.pdf",
                sha256="0" * 64,
                size=1,
                content_type="application/pdf",
            ),
            document_type=certificate.document_type,
            verification_code="ZZZZ",
            issued_by=certificate.issued_by,
            holder_name="x",
            application_number=certificate.application_number,
            issued_at=certificate.issued_at,
        )


def test_the_public_page_shows_a_valid_certificate_without_personal_data(client, certificate):
    response = client.get(reverse("documents:verify", args=[certificate.verification_code]))
    assert response.status_code == 200
    text = response.text
    assert "This certificate is valid" in text
    assert "Food business licence" in text and "Market Regulation" in text
    # The local day it was issued, as the reader's language writes it (5 Dec 2026).
    assert date_format(timezone.localdate(certificate.issued_at), "SHORT_DATE_FORMAT") in text
    assert "王*明" in text and "王小明" not in text
    assert "Golden Dumpling" not in text and "朝阳区" not in text and "2026-MKT-000123" not in text


def test_a_code_typed_with_dashes_and_lower_case_is_found(client, certificate):
    typed = format_code(certificate.verification_code).lower()
    response = client.get(reverse("documents:verify_start"), {"code": typed})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_an_unknown_code_is_a_clear_404(client, certificate):
    response = client.get(reverse("documents:verify", args=["AAAABBBBCCCCDDDD"]))
    assert response.status_code == 404
    assert "Certificate not found" in response.text and "No certificate has this verification code" in response.text


def test_the_verification_form_asks_for_a_code(client):
    response = client.get(reverse("documents:verify_start"))
    assert response.status_code == 200 and "Verification code" in response.text
    empty = client.get(reverse("documents:verify_start"), {"code": ""})
    assert empty.status_code == 400 and "Enter the verification code" in empty.text


def test_revocation_shows_on_the_public_page_with_date_and_reason(
    client, certificate, clerk_a, alice, certificate_type
):
    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Premises closed after inspection")
    response = client.get(reverse("documents:verify", args=[certificate.verification_code]))
    assert response.status_code == 200
    assert "This certificate has been revoked" in response.text
    assert "Premises closed after inspection" in response.text
    assert "This certificate is valid" not in response.text
    assert not reusable_documents(user=alice, document_type=certificate_type).exists()


def test_revoking_needs_a_reason_and_happens_once(certificate, clerk_a):
    with pytest.raises(ValidationError, match="reason"):
        certificate_revoke(certificate=certificate, actor=clerk_a, reason="  ")
    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Closed")
    with pytest.raises(ValidationError, match="already been revoked"):
        certificate_revoke(certificate=certificate, actor=clerk_a, reason="Again")


def test_another_department_or_the_holder_cannot_revoke(certificate, clerk_b, alice):
    for outsider in (clerk_b, alice):
        with pytest.raises(Http404):
            certificate_revoke(certificate=certificate, actor=outsider, reason="no")
    certificate.refresh_from_db()
    assert certificate.revoked_at is None


def test_the_holder_cannot_delete_an_issued_certificate(certificate, alice):
    with pytest.raises(ValidationError, match="issued by a department"):
        document_delete(document=certificate.document, actor=alice)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王小明", "王*明"), ("王明", "王*"), ("欧阳小明", "欧**明"), ("Alice Wang", "A**** W***"), ("", "")],
)
def test_names_are_masked(name, masked):
    assert mask_name(name) == masked


def test_an_issued_pdf_is_stored_as_made_even_when_its_bytes_spell_an_action_name(alice, certificate_type):
    """A signed certificate carries an incremental update whose random bytes (keys, signatures,
    compressed streams) may contain "/AA" or "/JS" by chance; the upload rules refuse such a file,
    but the portal's own documents are not put through them."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from reportlab.pdfgen import canvas

    from documents.actions import document_issue
    from documents.validation import UploadRejected, check_content

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "Certificate")
    pdf.save()
    writer = IncrementalPdfFileWriter(io.BytesIO(buffer.getvalue()))
    writer.root["/Noise"] = writer.add_object(generic.StreamObject(stream_data=b"noise /AA noise"))
    writer.update_root()
    updated = io.BytesIO()
    writer.write(updated)
    content = updated.getvalue()
    with pytest.raises(UploadRejected):  # as an upload it would be refused
        check_content(content=content, claimed_name="c.pdf", document_type=certificate_type)
    document = document_issue(owner=alice, document_type=certificate_type, content=content, display_name="c.pdf")
    with private_storage.open(document.file.name, "rb") as stored:
        assert stored.read() == content
