"""The antivirus hook speaks clamd's INSTREAM protocol and fails closed: unreachable, garbled
or (where required) missing, the upload is refused; without a scanner in development and test
the file is stored as "not yet checked", never as clean."""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from documents.actions import document_upload
from documents.models import Document
from documents.scanning import KnownContentScanner, ScanOutcome, scan_bytes
from documents.selectors import reusable_documents
from documents.tests.conftest import make_pdf, upload
from documents.validation import UploadRejected, UploadUnavailable
from tests.support.clamd import EICAR, EICAR_MARKER
from tests.support.clamd import ClamdTestPeer as FakeClamd

PDF = make_pdf()
NO_SCANNER = override_settings(CLAMD_SOCKET="", CLAMD_HOST="", DOCUMENT_SCAN_REQUIRED=False)
NO_SCANNER_IN_PRODUCTION = override_settings(CLAMD_SOCKET="", CLAMD_HOST="", DOCUMENT_SCAN_REQUIRED=True)


@pytest.fixture
def socket_dir(tmp_path_factory) -> Path:
    # Unix socket paths must be short (108 bytes): use a short temporary folder.
    import tempfile

    return Path(tempfile.mkdtemp(prefix="clamd-"))


@pytest.fixture
def fake_clamd(socket_dir) -> Iterator[FakeClamd]:
    server = FakeClamd(socket_dir / "clamd.sock")
    with override_settings(CLAMD_SOCKET=str(server.path), CLAMD_HOST="", CLAMD_TIMEOUT=5):
        yield server
    server.close()


def test_without_a_scanner_files_are_not_scanned_never_clean():
    with NO_SCANNER:
        assert scan_bytes(b"anything").outcome == ScanOutcome.NOT_SCANNED


def test_without_a_scanner_where_scanning_is_required_the_result_is_an_error():
    with NO_SCANNER_IN_PRODUCTION:
        assert scan_bytes(b"anything").outcome == ScanOutcome.ERROR


def test_a_known_content_scanner_passes_only_the_bytes_it_was_given():
    made_here = KnownContentScanner([b"seed pdf"], vouched_by="a test")
    with NO_SCANNER:
        assert scan_bytes(b"seed pdf", fallback=made_here).outcome == ScanOutcome.CLEAN
        assert scan_bytes(b"other pdf", fallback=made_here).outcome == ScanOutcome.NOT_SCANNED
    with NO_SCANNER_IN_PRODUCTION:  # never instead of a required scanner
        assert scan_bytes(b"seed pdf", fallback=made_here).outcome == ScanOutcome.ERROR


def test_a_configured_scanner_is_asked_even_when_a_fallback_is_given(fake_clamd):
    made_here = KnownContentScanner([b"x " + EICAR], vouched_by="a test")
    assert scan_bytes(b"x " + EICAR, fallback=made_here).outcome == ScanOutcome.INFECTED


def test_a_clean_file_is_sent_in_chunks_and_accepted(fake_clamd):
    content = b"x" * 200_000  # several 64 KiB chunks
    result = scan_bytes(content)
    assert result.outcome == ScanOutcome.CLEAN
    assert fake_clamd.commands == [b"zINSTREAM\0"]
    assert fake_clamd.received == [content]


def test_a_virus_is_reported_with_its_signature(fake_clamd):
    result = scan_bytes(b"prefix " + EICAR_MARKER + b" suffix")
    assert result.outcome == ScanOutcome.INFECTED
    assert result.detail == "Eicar-Test-Signature"


@pytest.mark.django_db
def test_an_infected_upload_is_refused_and_not_stored(fake_clamd, alice, lease_type):
    content = make_pdf().replace(b"%%EOF", b"% " + EICAR_MARKER + b"\n%%EOF")
    with pytest.raises(UploadRejected, match="found a threat"):
        document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", content))
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_a_clean_upload_is_scanned_and_offered_for_reuse(fake_clamd, alice, lease_type):
    document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()))
    assert fake_clamd.received and document.scan_status == Document.ScanStatus.CLEAN
    assert list(reusable_documents(user=alice, document_type=lease_type)) == [document]


def test_a_clamd_error_reply_fails_closed(socket_dir):
    server = FakeClamd(socket_dir / "clamd.sock", reply_with="INSTREAM size limit exceeded. ERROR")
    try:
        with override_settings(CLAMD_SOCKET=str(server.path), CLAMD_TIMEOUT=5):
            assert scan_bytes(b"data").outcome == ScanOutcome.ERROR
    finally:
        server.close()


def test_an_unreachable_socket_fails_closed(socket_dir):
    with override_settings(CLAMD_SOCKET=str(socket_dir / "nobody-listens.sock"), CLAMD_TIMEOUT=2):
        assert scan_bytes(b"data").outcome == ScanOutcome.ERROR


def test_an_unreachable_tcp_scanner_fails_closed():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST="127.0.0.1", CLAMD_PORT=port, CLAMD_TIMEOUT=2):
        assert scan_bytes(b"data").outcome == ScanOutcome.ERROR


@pytest.mark.django_db
def test_an_upload_while_the_scanner_is_down_is_refused_and_never_reusable(socket_dir, alice, lease_type):
    nobody = override_settings(CLAMD_SOCKET=str(socket_dir / "nobody-listens.sock"), CLAMD_TIMEOUT=2)
    with nobody, pytest.raises(UploadRejected, match="could not check this file for viruses"):
        document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()))
    assert not Document.objects.exists()
    assert not reusable_documents(user=alice, document_type=lease_type).exists()


@pytest.mark.django_db
def test_without_a_scanner_an_upload_is_stored_as_not_scanned_and_still_usable_by_its_owner(alice, lease_type):
    with NO_SCANNER:
        document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()))
    assert document.scan_status == Document.ScanStatus.NOT_SCANNED
    assert document.get_scan_status_display() == "Not yet checked for viruses"
    assert not document.may_be_opened_by_staff
    assert list(reusable_documents(user=alice, document_type=lease_type)) == [document]


@pytest.mark.django_db
def test_without_a_scanner_in_production_an_upload_is_refused_as_unavailable(alice, lease_type):
    with NO_SCANNER_IN_PRODUCTION, pytest.raises(UploadUnavailable, match="Try again later"):
        document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()))
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_the_api_answers_503_while_no_scanner_is_configured_in_production(alice, lease_type):
    api = APIClient()
    api.force_authenticate(alice)
    with NO_SCANNER_IN_PRODUCTION:
        response = api.post("/api/vault/documents/", {"document_type": "test-lease", "file": upload("a.pdf", PDF)})
    assert response.status_code == 503
    assert "could not check this file for viruses just now" in " ".join(response.json()["file"])
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_the_api_answers_503_while_the_scanner_is_down(socket_dir, alice, lease_type):
    api = APIClient()
    api.force_authenticate(alice)
    with override_settings(CLAMD_SOCKET=str(socket_dir / "nobody-listens.sock"), CLAMD_TIMEOUT=2):
        response = api.post("/api/vault/documents/", {"document_type": "test-lease", "file": upload("a.pdf", PDF)})
    assert response.status_code == 503
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_the_vault_page_keeps_the_chosen_type_and_says_to_try_later_while_the_scanner_is_down(
    client, alice, lease_type
):
    client.force_login(alice)
    with NO_SCANNER_IN_PRODUCTION:
        response = client.post("/vault/", {"document_type": lease_type.pk, "file": upload("a.pdf", make_pdf())})
    assert response.status_code == 503
    assert "Try again later" in response.text
    assert f'value="{lease_type.pk}" selected' in response.text
    assert not Document.objects.exists()
