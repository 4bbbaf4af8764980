"""In Chromium: Alice opens her vault, uploads a document, meets a clear error, and every page is axe-clean."""

import pytest

from documents.certificates import certificate_issue, format_code
from documents.tests.conftest import make_pdf
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_uses_her_vault_and_every_page_is_accessible(
    page, alice, password, lease_type, tmp_path, assert_accessible
):
    sign_in(page, "alice", password)
    page.get_by_role("link", name="Document vault").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Your vault is empty").is_visible()
    assert_accessible(page)

    disguised = tmp_path / "invoice.pdf"
    disguised.write_bytes(b"MZ\x90\x00" * 100)
    page.get_by_label("Type of document").select_option(label="Tenancy agreement")
    page.get_by_label("File").set_input_files(str(disguised))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("alert").get_by_text("There is a problem").is_visible()
    assert page.locator(".govuk-error-message").get_by_text("whatever its name says").is_visible()
    assert_accessible(page)

    lease = tmp_path / "lease 2026.pdf"
    lease.write_bytes(make_pdf())
    page.get_by_label("Type of document").select_option(label="Tenancy agreement")
    page.get_by_label("File").set_input_files(str(lease))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("“lease 2026.pdf” is in your document vault.").is_visible()
    assert page.get_by_role("rowheader", name="lease 2026.pdf").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Delete lease 2026.pdf").click()
    page.wait_for_load_state("networkidle")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, delete it").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Your vault is empty").is_visible()


def test_the_public_verification_pages_are_accessible(page, alice, certificate_type, department_a, assert_accessible):
    certificate = certificate_issue(
        owner=alice,
        document_type=certificate_type,
        department=department_a,
        holder_name="Alice Wang",
        application_number="2026-MKT-000001",
        title="Food business licence",
        details={},
    )
    page.goto("/verify/")
    assert_accessible(page)
    page.get_by_label("Verification code").fill(format_code(certificate.verification_code))
    page.get_by_role("button", name="Check certificate").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="This certificate is valid").is_visible()
    assert page.get_by_text("A**** W***").is_visible()
    assert_accessible(page)
    page.goto("/verify/NOPE-NOPE-NOPE-NOPE/")
    assert page.get_by_role("heading", name="Certificate not found").is_visible()
    assert_accessible(page)
