"""The antivirus hook speaks clamd's INSTREAM protocol and fails closed when clamd is unreachable."""

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from documents.actions import document_upload
from documents.models import Document
from documents.scanning import ScanOutcome, scan_bytes
from documents.selectors import reusable_documents
from documents.tests.conftest import make_pdf, upload
from documents.validation import UploadRejected

EICAR_MARKER = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"


class FakeClamd:
    """A tiny clamd on a unix socket: reads a real INSTREAM exchange and answers like clamd does."""

    def __init__(self, path: Path, reply_with: str | None = None) -> None:
        self.path = path
        self.reply_with = reply_with
        self.received: list[bytes] = []
        self.commands: list[bytes] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def _read_exactly(self, connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                command = b""
                while not command.endswith(b"\0"):
                    command += self._read_exactly(connection, 1)
                self.commands.append(command)
                content = b""
                while True:
                    (length,) = struct.unpack("!L", self._read_exactly(connection, 4))
                    if length == 0:
                        break
                    content += self._read_exactly(connection, length)
                self.received.append(content)
                if self.reply_with is not None:
                    reply = self.reply_with
                elif EICAR_MARKER in content:
                    reply = "stream: Eicar-Test-Signature FOUND"
                else:
                    reply = "stream: OK"
                connection.sendall(reply.encode() + b"\0")

    def close(self) -> None:
        self.server.close()


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


def test_without_a_scanner_configured_files_count_as_clean():
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST=""):
        assert scan_bytes(b"anything").outcome == ScanOutcome.CLEAN


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
