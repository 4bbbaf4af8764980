"""Signing keys on a PKCS#11 token: a throwaway softhsm2 token per test, the department's
issuing CA key imported into it or generated on it, certificates issued through it and checked
by pyHanko; a wrong PIN or a missing token is refused clearly and the issue step retries."""

import io
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from pkcs11 import Attribute, ObjectClass
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from documents.certificates import certificate_issue, certificate_revoke, format_code
from documents.models import Certificate, Document
from documents.signing import Finding, SigningUnavailable, Unchecked, certificate_signer
from documents.signing.authority import authority
from documents.signing.keys import Pkcs11KeyStore, forget_refused_pins
from documents.storage import private_storage
from documents.tests.conftest import upload
from workflows.engine.automatic import automatic_step_run
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = pytest.mark.django_db

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN = "onedoor-test"
PIN = "314159"


def softhsm_module() -> str:
    found = next((path for path in MODULE_CANDIDATES if Path(path).exists()), None)
    assert found and shutil.which("softhsm2-util"), "softhsm2 is not installed: run `make install`"
    return found


@pytest.fixture
def token(tmp_path, monkeypatch) -> dict[str, str]:
    """A fresh softhsm2 token in its own directory, known to this process only."""
    folder = tmp_path / "softhsm"
    (folder / "tokens").mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "271828"],
        check=True,
        capture_output=True,
    )
    module = softhsm_module()
    pkcs11.lib(module).reinitialize()  # the module reads SOFTHSM2_CONF when it starts
    forget_refused_pins()
    yield {"module": module, "conf": str(conf)}
    forget_refused_pins()


@pytest.fixture
def on_token(settings, token, tmp_path):
    """Settings that put the department keys on the token (the PIN in a file), with the local
    test PKI's root and timestamp authority."""
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    settings.SIGNING_PKCS11_MODULE = token["module"]
    settings.SIGNING_PKCS11_TOKEN = TOKEN
    settings.SIGNING_PKCS11_PIN = ""
    settings.SIGNING_PKCS11_PIN_FILE = str(pin_file)
    settings.SIGNING_PKCS11_KEY_LABEL = "onedoor-{department}"
    authority.cache_clear()
    yield token
    authority.cache_clear()


def import_key(token: dict[str, str], tmp_path: Path, label: str) -> ec.EllipticCurvePrivateKey:
    """Imports an EC P-256 key into the token the way an administrator would (softhsm2-util)."""
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / f"{label}.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    subprocess.run(
        ["softhsm2-util", "--import", str(key_file), "--token", TOKEN, "--label", label, "--id", "01", "--pin", PIN],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": token["conf"]},
    )
    key_file.unlink()
    return key


def token_objects(token: dict[str, str], object_class: ObjectClass) -> list[str]:
    with pkcs11.lib(token["module"]).get_token(token_label=TOKEN).open(user_pin=PIN) as session:
        return sorted(obj[Attribute.LABEL] for obj in session.get_objects({Attribute.CLASS: object_class}))


def our_root() -> asn1_x509.Certificate:
    armored = (Path(settings.SIGNING_LOCAL_PKI_DIR) / "root.cert.pem").read_bytes()
    return asn1_x509.Certificate.load(pem.unarmor(armored)[2])


def issue(alice, certificate_type, department, number: str = "2026-MKT-000777") -> Certificate:
    return certificate_issue(
        owner=alice,
        document_type=certificate_type,
        department=department,
        holder_name="王小明",
        application_number=number,
        title="Food business licence",
        details={"Business name": "Golden Dumpling"},
    )


def signed_bytes(certificate: Certificate) -> bytes:
    with private_storage.open(certificate.document.file.name, "rb") as handle:
        return handle.read()


def test_a_certificate_signed_through_the_token_is_pades_b_lt_under_the_departments_imported_key(
    on_token, tmp_path, alice, certificate_type, department_a
):
    department_key = import_key(on_token, tmp_path, f"onedoor-{department_a.code}")
    assert isinstance(authority().keystore, Pkcs11KeyStore)  # the one-document key is made on the token too

    certificate = issue(alice, certificate_type, department_a)

    reader = PdfFileReader(io.BytesIO(signed_bytes(certificate)))
    [signature] = reader.embedded_signatures
    embedded_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [our_root()], "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    status = validate_pdf_signature(signature, signer_validation_context=embedded_only)
    assert status.bottom_line and status.intact and status.valid and status.trusted and not status.revoked
    assert status.modification_level == ModificationLevel.LTA_UPDATES
    timestamp = status.timestamp_validity
    assert timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    assert status.signing_cert.subject.native["common_name"] == department_a.name_en
    assert status.signing_cert.subject.native["serial_number"] == format_code(certificate.verification_code)

    # The document's certificate was issued by the department's CA, whose key is the one imported.
    [department_ca] = [c for c in status.validation_path if c.subject == status.signing_cert.issuer]
    ca = x509.load_der_x509_certificate(department_ca.dump())
    assert ca.public_key() == department_key.public_key()
    assert ca.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == department_a.code
    # The CA's certificate is kept on the token next to its key; the one-document key is gone.
    assert token_objects(on_token, ObjectClass.PRIVATE_KEY) == [f"onedoor-{department_a.code}"]
    assert token_objects(on_token, ObjectClass.CERTIFICATE) == [f"onedoor-{department_a.code}"]


def test_a_key_generated_on_the_token_signs_and_revokes_through_it(
    on_token, client, alice, certificate_type, department_a, clerk_a
):
    cache.clear()  # uploads to /verify/ are counted per address
    certificate = issue(alice, certificate_type, department_a)  # the local PKI makes the key on the token
    assert token_objects(on_token, ObjectClass.PRIVATE_KEY) == [f"onedoor-{department_a.code}"]
    content = signed_bytes(certificate)
    genuine = client.post(reverse("documents:verify_upload"), {"file": upload("licence.pdf", content)})
    assert "This certificate file is genuine" in genuine.text and "Market Regulation" in genuine.text

    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Premises closed")
    published = client.get(reverse("documents:revocation_list", args=[f"department-{department_a.code}"]))
    crl = x509.load_der_x509_crl(published.content)
    issuer = authority().issuer(department_a)
    assert issuer is not None and crl.is_signature_valid(issuer.cert.public_key())  # type: ignore[arg-type]
    assert crl.get_revoked_certificate_by_serial_number(int(certificate.signing_serial, 16)) is not None
    revoked = client.post(reverse("documents:verify_upload"), {"file": upload("licence.pdf", content)})
    assert "This certificate has been revoked" in revoked.text


def test_a_wrong_pin_is_refused_clearly_tried_once_and_nothing_is_issued(
    on_token, settings, tmp_path, caplog, alice, certificate_type, department_a
):
    settings.SIGNING_PKCS11_PIN_FILE = ""
    settings.SIGNING_PKCS11_PIN = "000000"
    authority.cache_clear()
    with caplog.at_level(logging.ERROR, logger="documents.signing.keys"):
        with pytest.raises(SigningUnavailable, match=f"token '{TOKEN}' refused the PIN"):
            issue(alice, certificate_type, department_a)
        # Retries do not try the PIN again: an HSM locks its PIN after a few wrong ones.
        with pytest.raises(SigningUnavailable, match="refused this PIN before"):
            issue(alice, certificate_type, department_a)
    assert f"signing key unavailable: PKCS#11: token '{TOKEN}' refused the PIN" in caplog.text
    assert not Certificate.objects.exists() and not Document.objects.exists()
    with pkcs11.lib(on_token["module"]).get_token(token_label=TOKEN).open(user_pin=PIN):
        pass  # the token still takes the right PIN


def test_while_the_departments_key_is_out_of_reach_a_file_is_partly_verified(
    on_token, settings, client, alice, certificate_type, department_a, clerk_a
):
    """The department CA's revocation list is signed on the token for every check: with the
    token out of reach, the file is still shown to be ours and unchanged (from the chain it
    carries up to our root), with revocation said to be unchecked, never "changed"."""
    cache.clear()  # uploads to /verify/ are counted per address
    certificate = issue(alice, certificate_type, department_a)
    content = signed_bytes(certificate)
    settings.SIGNING_PKCS11_TOKEN = "no-such-token"  # the token is unplugged, or its slot renamed
    authority.cache_clear()

    verdict = certificate_signer().validate(pdf=content)
    assert verdict.finding == Finding.PARTLY and verdict.unchecked == (Unchecked.REVOCATION,)
    assert verdict.signer == "Market Regulation" and verdict.signed_at is not None
    text = client.post(reverse("documents:verify_upload"), {"file": upload("licence.pdf", content)}).text
    assert "Partly verified: not everything could be checked" in text
    assert "We could not find out just now whether the certificate has been revoked." in text
    assert "Valid; whether it was revoked could not be checked just now" in text
    assert "According to the trusted timestamp" in text and "Unchanged since it was signed" in text
    assert "no trusted timestamp" not in text and "This certificate file is genuine" not in text
    assert format_code(certificate.verification_code) in text

    # The register still answers: a revoked certificate is revoked, whatever the token.
    certificate_revoke(certificate=certificate, actor=clerk_a, reason="Premises closed")
    revoked = client.post(reverse("documents:verify_upload"), {"file": upload("licence.pdf", content)}).text
    assert "This certificate has been revoked" in revoked and "Partly verified" not in revoked

    settings.SIGNING_PKCS11_TOKEN = TOKEN  # back: the list is signed again and says the same
    authority.cache_clear()
    assert certificate_signer().validate(pdf=content).finding == Finding.REVOKED


def test_rotating_a_departments_key_on_the_token_keeps_the_old_one_for_what_it_signed(
    on_token, client, alice, certificate_type, department_a, clerk_a
):
    cache.clear()  # uploads to /verify/ are counted per address
    before = issue(alice, certificate_type, department_a, "2026-MKT-000801")
    call_command("rotate_signing_ca", department_a.code, stdout=io.StringIO())
    after = issue(alice, certificate_type, department_a, "2026-MKT-000802")

    label = f"onedoor-{department_a.code}"
    assert token_objects(on_token, ObjectClass.PRIVATE_KEY) == [label, f"{label}.g2"]
    assert token_objects(on_token, ObjectClass.CERTIFICATE) == [label, f"{label}.g2"]
    authority.cache_clear()  # as a restarted process: both generations are found on the token
    for certificate in (before, after):
        file = upload("l.pdf", signed_bytes(certificate))
        text = client.post(reverse("documents:verify_upload"), {"file": file}).text
        assert "This certificate file is genuine" in text
    certificate_revoke(certificate=before, actor=clerk_a, reason="Premises closed")
    revoked = client.post(reverse("documents:verify_upload"), {"file": upload("l.pdf", signed_bytes(before))}).text
    assert "This certificate has been revoked" in revoked
    assert certificate_signer().validate(pdf=signed_bytes(after)).finding == Finding.VALID


def test_a_missing_token_module_or_pin_file_is_refused_clearly(
    settings, on_token, alice, certificate_type, department_a
):
    settings.SIGNING_PKCS11_MODULE = "/nonexistent/libpkcs11.so"
    authority.cache_clear()
    with pytest.raises(SigningUnavailable, match=re.escape("the module /nonexistent/libpkcs11.so cannot be loaded")):
        issue(alice, certificate_type, department_a)
    settings.SIGNING_PKCS11_MODULE = on_token["module"]
    settings.SIGNING_PKCS11_TOKEN = "no-such-token"
    authority.cache_clear()
    with pytest.raises(SigningUnavailable, match="no token labelled 'no-such-token'"):
        issue(alice, certificate_type, department_a)
    settings.SIGNING_PKCS11_PIN_FILE = "/nonexistent/pin"
    authority.cache_clear()
    with pytest.raises(SigningUnavailable, match="the PIN file /nonexistent/pin cannot be read"):
        issue(alice, certificate_type, department_a)
    assert not Certificate.objects.exists()


def test_in_production_a_department_without_its_key_on_the_token_is_refused(
    settings, on_token, tmp_path, alice, certificate_type, department_a
):
    settings.SIGNING_TRUST_ROOTS = [str(Path(settings.SIGNING_LOCAL_PKI_DIR) / "root.cert.pem")]
    settings.SIGNING_TSA_URL = "http://127.0.0.1:9/"  # never reached: the key is missing first
    authority.cache_clear()
    with pytest.raises(SigningUnavailable, match=f"no private key labelled 'onedoor-{department_a.code}'"):
        issue(alice, certificate_type, department_a)
    assert token_objects(on_token, ObjectClass.PRIVATE_KEY) == []  # nothing is generated outside the test PKI


def test_the_issue_step_retries_on_a_wrong_pin_and_issues_once_it_is_fixed(
    settings, on_token, alice, clerk_a, supervisor, department_a
):
    settings.SIGNING_PKCS11_PIN_FILE = ""
    settings.SIGNING_PKCS11_PIN = "000000"
    authority.cache_clear()
    issue_step = {"key": "issue", "department": "market", "kind": "issue", "document_type": "food-business-licence"}
    route = {"steps": [issue_step]}
    application = routed_application(applicant=alice, version=version_with(route), **{"business.name": "Noodle House"})
    item = step(application, "issue")

    first = automatic_step_run(work_item_id=item.pk, task_id="t-1")
    assert first.status == "retry"
    assert not Certificate.objects.filter(application_number=application.number).exists()

    settings.SIGNING_PKCS11_PIN = PIN
    authority.cache_clear()
    assert automatic_step_run(work_item_id=item.pk, task_id="t-2").status == "done"
    assert Certificate.objects.get(application_number=application.number).signing_serial
