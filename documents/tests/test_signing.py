"""Signed certificates: PAdES B-LT as pyHanko sees it, and what /verify/ says of an uploaded file."""

import dataclasses
import io
import re
from pathlib import Path

import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from reportlab.pdfgen import canvas

from accounts.models import Department
from documents.certificates import certificate_issue, certificate_revoke, format_code
from documents.models import Certificate, Document
from documents.signing import Finding, SigningUnavailable, Unchecked, certificate_signer
from documents.signing.authority import authority, local_authority
from documents.signing.pades import PadesSigner
from documents.storage import private_storage
from documents.tests.conftest import make_pdf, make_png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_upload_counts():
    cache.clear()  # uploads are counted per address (127.0.0.1 for every test)


@pytest.fixture
def certificate(alice, certificate_type, department_a) -> Certificate:
    return certificate_issue(
        owner=alice,
        document_type=certificate_type,
        department=department_a,
        holder_name="王小明",
        application_number="2026-MKT-000321",
        title="Food business licence",
        details={"Business name": "Golden Dumpling"},
    )


def signed_bytes(certificate: Certificate) -> bytes:
    with private_storage.open(certificate.document.file.name, "rb") as handle:
        return handle.read()


def our_root() -> asn1_x509.Certificate:
    armored = (Path(settings.SIGNING_LOCAL_PKI_DIR) / "root.cert.pem").read_bytes()
    return asn1_x509.Certificate.load(pem.unarmor(armored)[2])


def check_file(client, content: bytes, name: str = "certificate.pdf"):
    return client.post(reverse("documents:verify_upload"), {"file": upload(name, content)})


def test_an_issued_certificate_is_pades_b_lt_with_a_trusted_timestamp(certificate, department_a):
    """Checked by pyHanko alone, from the trust root and what the file embeds (no network, no
    revocation data of ours): that is what B-LT promises a validator years from now."""
    reader = PdfFileReader(io.BytesIO(signed_bytes(certificate)))
    [signature] = reader.embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert reader.xrefs.total_revisions == 3  # the rendered certificate, the signature, the DSS
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 3 and len(dss["/CRLs"]) >= 2
    embedded_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [our_root()], "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    status = validate_pdf_signature(signature, signer_validation_context=embedded_only)
    assert status.bottom_line and status.intact and status.valid and status.trusted and not status.revoked
    assert status.modification_level == ModificationLevel.LTA_UPDATES  # only the DSS follows the signature
    timestamp = status.timestamp_validity
    assert timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    assert abs((timestamp.timestamp - certificate.issued_at).total_seconds()) < 60
    subject = status.signing_cert.subject.native
    assert subject["common_name"] == department_a.name_en
    assert subject["serial_number"] == format_code(certificate.verification_code)
    assert certificate.signing_serial == format(status.signing_cert.serial_number, "x")


def test_the_file_as_issued_is_genuine_on_verify(client, certificate):
    response = check_file(client, signed_bytes(certificate))
    assert response.status_code == 200
    text = response.text
    assert "This certificate file is genuine" in text
    assert "Market Regulation" in text and "Unchanged since it was signed" in text
    assert "Valid, not revoked" in text and "According to the trusted timestamp" in text
    assert format_code(certificate.verification_code) in text and "Food business licence" in text
    assert "王小明" not in text and "Golden Dumpling" not in text


def test_one_changed_byte_is_refused(client, certificate):
    content = bytearray(signed_bytes(certificate))
    position = content.index(b"2026-MKT-000321")
    content[position + len("2026-MKT-00032")] = ord("9")  # the application number in the document's title
    response = check_file(client, bytes(content))
    assert response.status_code == 200
    assert "This file was changed after it was signed" in response.text
    assert "This certificate file is genuine" not in response.text
    assert certificate_signer().validate(pdf=bytes(content)).finding == Finding.CHANGED


def test_an_update_appended_after_signing_is_reported_as_changed(client, certificate):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_bytes(certificate)))
    writer.set_info(generic.DictionaryObject({generic.NameObject("/Title"): generic.TextStringObject("Forged")}))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.NameObject("/Rotate")] = generic.NumberObject(90)
    writer.update_container(page)
    appended = io.BytesIO()
    writer.write(appended)
    updated = appended.getvalue()
    assert updated.startswith(signed_bytes(certificate))  # the signed bytes are intact: only an update follows

    status = validate_pdf_signature(
        PdfFileReader(io.BytesIO(updated)).embedded_signatures[0],
        signer_validation_context=ValidationContext(trust_roots=[our_root()]),
    )
    assert status.intact and status.modification_level > ModificationLevel.LTA_UPDATES
    response = check_file(client, updated)
    assert "This file was changed after it was signed" in response.text
    assert "Changed after signing" in response.text


def test_a_revoked_certificate_is_revoked_on_verify_and_in_the_published_list(client, certificate, clerk_a):
    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Premises closed after inspection")
    content = signed_bytes(certificate)

    response = check_file(client, content)
    assert "This certificate has been revoked" in response.text
    assert "Premises closed after inspection" in response.text
    lookup = client.get(reverse("documents:verify", args=[certificate.verification_code]))
    assert "This certificate has been revoked" in lookup.text

    # An offline validator: the trust root, the file, and the revocation list we publish at
    # the address the signing certificate names: the department's issuing CA's.
    reader = PdfFileReader(io.BytesIO(content))
    [distribution_point] = reader.embedded_signatures[0].signer_cert.crl_distribution_points_value.native
    label = f"department-{certificate.issued_by.code}"
    assert distribution_point["distribution_point"] == [
        settings.PUBLIC_BASE_URL.rstrip("/") + reverse("documents:revocation_list", args=[label])
    ]
    published = client.get(reverse("documents:revocation_list", args=[label]))
    assert published.status_code == 200 and published["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(published.content)
    assert crl.get_revoked_certificate_by_serial_number(int(certificate.signing_serial, 16)) is not None
    context = ValidationContext(
        trust_roots=[our_root()],
        other_certs=list(DocumentSecurityStore.read_dss(reader).load_certs()),
        crls=[published.content, client.get(reverse("documents:revocation_list", args=["root"])).content],
        revocation_mode="hard-fail",
    )
    status = validate_pdf_signature(reader.embedded_signatures[0], signer_validation_context=context)
    assert status.revoked and not status.bottom_line


def test_the_published_lists_name_nothing_before_a_revocation_and_unknown_lists_are_404(client, certificate):
    crl = x509.load_der_x509_crl(client.get(reverse("documents:revocation_list", args=["issuing"])).content)
    assert len(list(crl)) == 0
    assert client.get(reverse("documents:revocation_list", args=["nope"])).status_code == 404


def test_a_pdf_signed_under_another_ca_is_not_ours(client, tmp_path, department_a):
    stranger = PadesSigner(local_authority(tmp_path / "another-pki"))
    signed = stranger.sign(pdf=make_pdf("Food business licence"), department=department_a, reference="AAAA-BBBB")
    response = check_file(client, signed.content)
    assert response.status_code == 200
    assert "This file was not signed by One Door" in response.text
    assert "Market Regulation" not in response.text  # a look-alike's claimed name is not repeated


def test_an_unsigned_pdf_has_no_signature(client):
    response = check_file(client, make_pdf("Food business licence"))
    assert response.status_code == 200 and "This file has no digital signature" in response.text


def encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt="secret")
    pdf.drawString(72, 720, "Food business licence")
    pdf.save()
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.pdf", make_png(), "The file must be a PDF"),
        ("certificate.pdf", b"%PDF-1.7\n1 0 obj <<>> endobj\n", "not a complete PDF"),
        ("certificate.pdf", encrypted_pdf(), "protected with a password"),
        ("certificate.pdf", b"%PDF-1.4\ngarbage garbage\n%%EOF\n", "could not be read as a PDF"),
    ],
)
def test_bad_files_get_a_clear_message_never_a_500(client, name, content, message):
    response = check_file(client, content, name)
    assert response.status_code == 400
    assert message in response.text and "There is a problem" in response.text


def test_an_empty_or_missing_or_too_big_file_is_refused(client, settings):
    assert "Choose the certificate" in client.post(reverse("documents:verify_upload")).text
    settings.UPLOAD_MAX_BYTES = 1000
    response = check_file(client, make_pdf() + b" " * 2000)
    assert response.status_code == 400 and "smaller than" in response.text


def test_uploads_are_limited_per_address(client, settings):
    settings.VERIFY_UPLOADS_PER_HOUR = 2
    content = make_pdf()
    for _ in range(2):
        assert check_file(client, content).status_code == 200
    refused = check_file(client, content)
    assert refused.status_code == 429 and "Wait an hour" in refused.text


def test_the_check_page_is_get_only_for_the_code_and_post_for_files(client):
    assert client.get(reverse("documents:verify_upload")).status_code == 405
    page = client.get(reverse("documents:verify_start"))
    assert "Check a certificate file" in page.text and 'enctype="multipart/form-data"' in page.text


def test_when_the_timestamp_authority_is_down_nothing_is_issued_and_a_retry_succeeds(
    alice, certificate_type, department_a
):
    current = authority()
    working = current.timestamper
    current.timestamper = RequestsHTTPTimeStamper("http://127.0.0.1:9/", timeout=2)  # nothing listens there
    try:
        with pytest.raises(SigningUnavailable):
            certificate_issue(
                owner=alice,
                document_type=certificate_type,
                department=department_a,
                holder_name="Alice Wang",
                application_number="2026-MKT-000999",
                title="Food business licence",
                details={},
            )
        assert not Certificate.objects.exists() and not Document.objects.exists()
    finally:
        current.timestamper = working
    issued = certificate_issue(
        owner=alice,
        document_type=certificate_type,
        department=department_a,
        holder_name="Alice Wang",
        application_number="2026-MKT-000999",
        title="Food business licence",
        details={},
    )
    assert issued.signing_serial and re.fullmatch(r"[0-9a-f]+", issued.signing_serial)


def issuer_of(content: bytes) -> x509.Certificate:
    """The CA certificate that issued the file's signing certificate, as embedded in the file."""
    reader = PdfFileReader(io.BytesIO(content))
    signing = reader.embedded_signatures[0].signer_cert
    [ca] = [c for c in DocumentSecurityStore.read_dss(reader).load_certs() if c.subject == signing.issuer]
    return x509.load_der_x509_certificate(ca.dump())


def department_list(client, department) -> x509.CertificateRevocationList:
    response = client.get(reverse("documents:revocation_list", args=[f"department-{department.code}"]))
    assert response.status_code == 200
    return x509.load_der_x509_crl(response.content)


@pytest.fixture
def fire_certificate(bob, certificate_type, department_b) -> Certificate:
    return certificate_issue(
        owner=bob,
        document_type=certificate_type,
        department=department_b,
        holder_name="Bob Li",
        application_number="2026-FIR-000042",
        title="Fire safety certificate",
        details={},
    )


def test_each_department_signs_under_its_own_issuing_ca_below_the_root(
    certificate, fire_certificate, department_a, department_b
):
    market_ca, fire_ca = issuer_of(signed_bytes(certificate)), issuer_of(signed_bytes(fire_certificate))
    assert market_ca.subject != fire_ca.subject and market_ca.public_key() != fire_ca.public_key()
    for ca, department in ((market_ca, department_a), (fire_ca, department_b)):
        assert ca.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == department.code
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
        ca.verify_directly_issued_by(x509.load_der_x509_certificate(our_root().dump()))


def test_revoking_one_departments_certificate_involves_only_that_departments_ca(
    client, certificate, fire_certificate, clerk_a
):
    market_ca, fire_ca = issuer_of(signed_bytes(certificate)), issuer_of(signed_bytes(fire_certificate))
    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Premises closed after inspection")

    market_list = department_list(client, certificate.issued_by)
    assert market_list.is_signature_valid(market_ca.public_key())  # type: ignore[arg-type]
    assert not market_list.is_signature_valid(fire_ca.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in market_list] == [int(certificate.signing_serial, 16)]
    fire_list = department_list(client, fire_certificate.issued_by)
    assert fire_list.is_signature_valid(fire_ca.public_key()) and len(list(fire_list)) == 0  # type: ignore[arg-type]

    assert "This certificate has been revoked" in check_file(client, signed_bytes(certificate)).text
    other = check_file(client, signed_bytes(fire_certificate)).text
    assert "This certificate file is genuine" in other and "Fire and Rescue" in other


def test_a_departments_list_is_published_once_it_has_a_ca_and_unknown_lists_are_404(client, department_a):
    parks = Department.objects.create(code="parks", short_code="PRK", name_en="Parks", name_zh="园林局")
    never_signed = reverse("documents:revocation_list", args=[f"department-{parks.code}"])
    assert client.get(never_signed).status_code == 404  # a GET never makes a CA
    assert not (Path(settings.SIGNING_LOCAL_PKI_DIR) / "departments" / "parks.cert.pem").exists()
    assert client.get(reverse("documents:revocation_list", args=["department-nope"])).status_code == 404
    # The shared CA of documents signed before departments had their own still publishes its list.
    assert client.get(reverse("documents:revocation_list", args=["issuing"])).status_code == 200


def test_a_file_signed_under_the_shared_issuing_ca_of_older_documents_still_checks(client, department_a):
    current = authority()
    before = dataclasses.replace(current, department_issuers=lambda department, create: current.shared, _issuers={})
    signed = PadesSigner(before).sign(pdf=make_pdf("Food business licence"), department=department_a, reference="OLD")
    reader = PdfFileReader(io.BytesIO(signed.content))
    [distribution_point] = reader.embedded_signatures[0].signer_cert.crl_distribution_points_value.native
    assert distribution_point["distribution_point"][0].endswith("/crls/issuing/latest.crl")

    verdict = certificate_signer().validate(pdf=signed.content)
    assert verdict.finding == Finding.VALID and verdict.signer == "Market Regulation"


# --- Partly verified: our signature on unchanged bytes, but not everything could be checked ---


def test_a_signature_without_a_trusted_timestamp_is_partly_verified_and_says_so(client, department_a):
    """Our department's signature, unchanged, but no timestamp (one can be stripped without
    touching the signed bytes): not "genuine", not "not ours" either."""
    untimed = PadesSigner(dataclasses.replace(authority(), timestamper=None, _issuers={}))
    signed = untimed.sign(pdf=make_pdf("Food business licence"), department=department_a, reference="NO-TIME")

    verdict = certificate_signer().validate(pdf=signed.content)
    assert verdict.finding == Finding.PARTLY and verdict.unchecked == (Unchecked.TIMESTAMP,)
    assert verdict.signer == "Market Regulation" and verdict.signed_at is None

    text = check_file(client, signed.content).text
    assert "Partly verified: not everything could be checked" in text
    assert "It has no trusted timestamp, so when it was signed cannot be confirmed." in text
    assert "No trusted timestamp" in text and "Unchanged since it was signed" in text
    assert "Valid, not revoked" in text  # revocation was checked
    assert "whether the certificate has been revoked" not in text
    assert "This certificate file is genuine" not in text and "not signed by One Door" not in text


def test_a_file_without_a_timestamp_updated_after_signing_is_changed_not_partly_verified(client, department_a):
    untimed = PadesSigner(dataclasses.replace(authority(), timestamper=None, _issuers={}))
    signed = untimed.sign(pdf=make_pdf("Food business licence"), department=department_a, reference="NO-TIME")
    writer = IncrementalPdfFileWriter(io.BytesIO(signed.content))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.NameObject("/Rotate")] = generic.NumberObject(90)
    writer.update_container(page)
    appended = io.BytesIO()
    writer.write(appended)

    assert certificate_signer().validate(pdf=appended.getvalue()).finding == Finding.CHANGED
    text = check_file(client, appended.getvalue()).text
    assert "This file was changed after it was signed" in text and "Partly verified" not in text


# --- Rotating a department's issuing CA -------------------------------------------------------


@pytest.fixture
def own_pki(settings, tmp_path):
    """A test PKI of this test's own: a rotation must not leave the shared one rotated."""
    settings.SIGNING_LOCAL_PKI_DIR = tmp_path / "pki"
    authority.cache_clear()
    yield settings.SIGNING_LOCAL_PKI_DIR
    authority.cache_clear()


def distribution_point(content: bytes) -> str:
    signing = PdfFileReader(io.BytesIO(content)).embedded_signatures[0].signer_cert
    return signing.crl_distribution_points_value.native[0]["distribution_point"][0]


def issue_for(owner, certificate_type, department, number: str) -> Certificate:
    return certificate_issue(
        owner=owner,
        document_type=certificate_type,
        department=department,
        holder_name="Alice Wang",
        application_number=number,
        title="Food business licence",
        details={},
    )


def test_a_rotated_departments_new_certificates_use_the_new_key_and_earlier_ones_stay_valid(
    own_pki, client, alice, certificate_type, department_a, department_b, clerk_a
):
    before = issue_for(alice, certificate_type, department_a, "2026-MKT-000001")
    fire = issue_for(alice, certificate_type, department_b, "2026-FIR-000001")
    out = io.StringIO()
    call_command("rotate_signing_ca", department_a.code, stdout=out)
    assert "certificates are now signed under" in out.getvalue() and "Issuing CA 2" in out.getvalue()
    after = issue_for(alice, certificate_type, department_a, "2026-MKT-000002")

    old_ca, new_ca = issuer_of(signed_bytes(before)), issuer_of(signed_bytes(after))
    assert old_ca.public_key() != new_ca.public_key() and old_ca.subject != new_ca.subject
    new_ca.verify_directly_issued_by(x509.load_der_x509_certificate(our_root().dump()))
    assert distribution_point(signed_bytes(before)).endswith(f"/crls/department-{department_a.code}/latest.crl")
    assert distribution_point(signed_bytes(after)).endswith(f"/crls/department-{department_a.code}-g2/latest.crl")
    assert issuer_of(signed_bytes(issue_for(alice, certificate_type, department_b, "2026-FIR-000002"))) == (
        issuer_of(signed_bytes(fire))
    )  # another department's CA is untouched

    for issued in (before, after, fire):
        assert "This certificate file is genuine" in check_file(client, signed_bytes(issued)).text

    # What the old key signed is still revoked under the old CA, in the list its files name.
    certificate_revoke(certificate=before, actor=clerk_a, reason="Premises closed after inspection")
    old_list = department_list(client, department_a)
    assert old_list.is_signature_valid(old_ca.public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in old_list] == [int(before.signing_serial, 16)]
    new_list_response = client.get(reverse("documents:revocation_list", args=[f"department-{department_a.code}-g2"]))
    new_list = x509.load_der_x509_crl(new_list_response.content)
    # Each generation's list is its own CA's (it may name the department's other revoked
    # serials too: they are random, so one its CA never issued revokes nothing).
    assert new_list.is_signature_valid(new_ca.public_key())  # type: ignore[arg-type]
    assert not new_list.is_signature_valid(old_ca.public_key())  # type: ignore[arg-type]
    assert "This certificate has been revoked" in check_file(client, signed_bytes(before)).text
    assert "This certificate file is genuine" in check_file(client, signed_bytes(after)).text

    certificate_revoke(certificate=after, actor=clerk_a, reason="Issued in error")
    assert "This certificate has been revoked" in check_file(client, signed_bytes(after)).text


def test_a_second_rotation_keeps_every_earlier_key_checkable(own_pki, client, alice, certificate_type, department_a):
    issued = [issue_for(alice, certificate_type, department_a, "2026-MKT-000010")]
    for number in ("2026-MKT-000011", "2026-MKT-000012"):
        call_command("rotate_signing_ca", department_a.code, stdout=io.StringIO())
        issued.append(issue_for(alice, certificate_type, department_a, number))

    assert len({issuer_of(signed_bytes(c)).public_key().public_numbers() for c in issued}) == 3  # type: ignore[union-attr]
    assert distribution_point(signed_bytes(issued[2])).endswith(f"department-{department_a.code}-g3/latest.crl")
    authority.cache_clear()  # as a restarted process: everything is found again from storage
    for certificate in issued:
        assert certificate_signer().validate(pdf=signed_bytes(certificate)).finding == Finding.VALID


def test_rotating_an_unknown_department_is_refused_clearly(own_pki, department_a):
    with pytest.raises(CommandError, match=r"No department with the code 'nope' \(there are: .*market"):
        call_command("rotate_signing_ca", "nope")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_revocation_list_read_at_each_signing_uses_the_index_of_revoked_certificates(certificate, clerk_a):
    """Each signing reads its department's revoked certificates for the revocation list it
    embeds: through `certificate_revoked`, which holds the revoked few, never a scan of every
    certificate issued (at ten thousand certificates that scan was 2 ms of each signing)."""
    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Premises closed after inspection")
    issuer = authority().issuer(certificate.issued_by)
    with CaptureQueriesContext(connection) as captured:
        revoked = PadesSigner()._revoked(issuer)
    assert [serial for serial, _ in revoked] == [certificate.signing_serial]
    [sql] = [q["sql"] for q in captured.captured_queries if "revoked_at" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE documents_certificate")
        # A table this small is cheapest to scan; with scans priced out, the plan shows which
        # index the read can use (without the partial index: the one on the department).
        for method in ("seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "certificate_revoked" in plan, plan
