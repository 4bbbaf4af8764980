"""End to end in Chromium: a clerk approves, the issue step signs the certificate into Alice's
vault; she downloads it and the public check accepts the file; one changed byte is refused;
once the department revokes it the same file shows as revoked; a file signed without a timestamp
is partly verified. Every result page is axe clean."""

import dataclasses

import pytest
from django.core.cache import cache

from documents.models import Certificate
from documents.signing.authority import authority
from documents.signing.pades import PadesSigner
from documents.tests.conftest import make_pdf
from tests.support.browser import sign_in
from tests.test_browser_workbench import LICENCE_AND_CERTIFICATE, sign_out
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check_file(page, path) -> None:
    page.goto("/verify/")
    page.get_by_label("Certificate file").set_input_files(str(path))
    page.get_by_role("button", name="Check file").click()
    page.wait_for_load_state("networkidle")


def test_a_signed_certificate_is_checked_by_its_file(
    page, password, alice, clerk_a, supervisor, department_a, department_b, tmp_path, assert_accessible
):
    cache.clear()  # uploads to /verify/ are counted per address
    application = routed_application(
        applicant=alice, version=version_with(LICENCE_AND_CERTIFICATE), **{"business.name": "Noodle House"}
    )
    item = step(application)

    # Issue: the clerk claims and approves; the issue step signs the certificate.
    sign_in(page, "clerk.a", password)
    page.goto(f"/workbench/items/{item.pk}/")
    page.get_by_role("button", name="Claim").first.click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Approve this step").check()
    page.get_by_role("button", name="Record the decision").click()
    assert page.get_by_text(f"You approved {application.number}.").is_visible()
    certificate = Certificate.objects.get(application_number=application.number)
    assert certificate.signing_serial
    sign_out(page)

    # Download: Alice takes the file from her vault.
    sign_in(page, "alice", password)
    page.goto("/vault/")
    name = f"Food business licence {application.number}.pdf"
    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download {name}").click()
    original = tmp_path / "licence.pdf"
    download_info.value.save_as(original)
    sign_out(page)

    # Upload: anyone can check the file; it is genuine.
    check_file(page, original)
    assert page.get_by_role("heading", name="This certificate file is genuine").is_visible()
    assert page.get_by_text("Unchanged since it was signed").is_visible()
    assert page.get_by_text("According to the trusted timestamp").is_visible()
    assert page.get_by_role("link", name=certificate.verification_code[:4], exact=False).is_visible()
    assert_accessible(page)

    # One byte changed (a digit of the application number in the document's title): refused.
    content = bytearray(original.read_bytes())
    position = content.index(application.number.encode()) + len(application.number) - 1
    content[position] = ord("0") if content[position] != ord("0") else ord("1")
    edited = tmp_path / "licence-edited.pdf"
    edited.write_bytes(bytes(content))
    check_file(page, edited)
    assert page.get_by_role("heading", name="This file was changed after it was signed").is_visible()
    assert not page.get_by_text("This certificate file is genuine").is_visible()
    assert_accessible(page)

    # Not a PDF at all: a clear error on the form.
    photo = tmp_path / "photo.pdf"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    check_file(page, photo)
    assert page.get_by_role("alert").get_by_text("There is a problem").is_visible()
    assert_accessible(page)

    # Revoked by the department: the same genuine file now shows as revoked.
    sign_in(page, "supervisor.a", password)
    page.goto(f"/workbench/items/{item.pk}/")
    page.get_by_text("Revoke this certificate").click()
    page.get_by_label("Reason for revoking the certificate").fill("Premises closed after inspection.")
    page.get_by_role("button", name="Revoke").click()
    assert page.get_by_text("The certificate has been revoked").is_visible()
    sign_out(page)
    check_file(page, original)
    assert page.get_by_role("heading", name="This certificate has been revoked").is_visible()
    assert page.get_by_text("Premises closed after inspection.").is_visible()
    assert_accessible(page)


def test_a_partly_verified_file_says_what_could_not_be_checked(page, department_a, tmp_path, assert_accessible):
    cache.clear()  # uploads to /verify/ are counted per address
    untimed = PadesSigner(dataclasses.replace(authority(), timestamper=None, _issuers={}))
    signed = untimed.sign(pdf=make_pdf("Food business licence"), department=department_a, reference="NO-TIME")
    path = tmp_path / "untimed.pdf"
    path.write_bytes(signed.content)

    check_file(page, path)
    assert page.get_by_role("heading", name="Partly verified: not everything could be checked").is_visible()
    assert page.get_by_text("It has no trusted timestamp, so when it was signed cannot be confirmed.").is_visible()
    assert page.get_by_text("No trusted timestamp", exact=True).is_visible()
    assert_accessible(page)
