"""Every kind of bad upload is refused with a sentence the uploader can act on; good ones are stored."""

import hashlib

import pytest
from django.test import override_settings

from documents.actions import document_upload
from documents.models import Document
from documents.originals import original_open
from documents.storage import private_storage
from documents.tests.conftest import make_jpeg, make_pdf, make_png, upload
from documents.validation import UploadRejected, detect_content_type, sanitise_display_name

pytestmark = pytest.mark.django_db

WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


def refused(alice, document_type, name: str, content: bytes) -> str:
    with pytest.raises(UploadRejected) as caught:
        document_upload(owner=alice, document_type=document_type, uploaded_file=upload(name, content))
    assert Document.objects.count() == 0
    return " ".join(caught.value.messages)


def test_a_good_pdf_is_stored_under_a_server_generated_name(alice, lease_type):
    content = make_pdf()
    document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", content))
    assert document.content_type == "application/pdf"
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.display_name == "lease.pdf"
    assert "lease" not in document.file.name
    assert document.file.name.endswith(".pdf") and document.file.name.count("/") == 2
    assert document.scan_status == Document.ScanStatus.CLEAN
    assert document.valid_until is not None and (document.valid_until - document.valid_from).days == 365
    with private_storage.open(document.file.name, "rb") as stored:
        served = stored.read()
    assert served != content and served.startswith(b"%PDF-")  # the rewritten rendition is what is served
    assert document.served_size == len(served)
    assert original_open(document.original.name) == content  # the upload, sealed for evidence
    assert document.original.name.startswith("originals/") and document.original.name.endswith(".sealed")


def test_an_empty_file_is_refused(alice, lease_type):
    assert "empty" in refused(alice, lease_type, "lease.pdf", b"")


def test_a_file_over_the_document_types_limit_is_refused(alice, lease_type):
    big = make_pdf() + b"%" * 210_000
    assert "smaller than" in refused(alice, lease_type, "lease.pdf", big)


@override_settings(UPLOAD_MAX_BYTES=1000)
def test_a_file_over_the_global_limit_is_refused(alice, lease_type):
    assert "smaller than 1000" in refused(alice, lease_type, "lease.pdf", make_pdf() + b" " * 1000)


@pytest.mark.parametrize("content", [WINDOWS_EXE, ELF, ZIP], ids=["exe", "elf", "zip"])
def test_an_executable_or_archive_named_pdf_is_refused(alice, lease_type, content):
    message = refused(alice, lease_type, "invoice.pdf", content)
    assert "must be a PDF, JPEG, PNG file" in message


@pytest.mark.parametrize("content", [HTML, SVG], ids=["html", "svg"])
def test_markup_named_png_is_refused(alice, photo_type, content):
    assert "must be a JPEG, PNG file" in refused(alice, photo_type, "me.png", content)


def test_a_pdf_where_only_images_are_allowed_is_refused(alice, photo_type):
    assert "must be a JPEG, PNG file" in refused(alice, photo_type, "me.pdf", make_pdf())


def test_a_name_that_disagrees_with_the_content_is_refused(alice, lease_type):
    message = refused(alice, lease_type, "scan.pdf", make_png())
    assert "ends in .pdf but its content is PNG" in message


def test_a_truncated_pdf_is_refused(alice, lease_type):
    assert "not a complete PDF" in refused(alice, lease_type, "lease.pdf", make_pdf()[:400])


def test_a_malformed_image_is_refused(alice, photo_type):
    broken = make_png(size=(64, 64))
    assert "could not be read" in refused(alice, photo_type, "me.png", broken[:60])
    assert "could not be read" in refused(alice, photo_type, "me.jpg", make_jpeg()[:30] + b"\x00" * 50)


def test_a_name_with_path_parts_and_control_characters_is_made_harmless(alice, lease_type):
    name = "../../etc/\u202egpj.exe\u200b\r\nSet-Cookie: x=1\x00 lease.pdf"
    document = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload(name, make_pdf()))
    assert document.display_name == "gpj.exe Set-Cookie: x=1 lease.pdf"
    assert "/" not in document.file.name.rsplit("/", 1)[1]
    assert ".." not in document.file.name and "etc" not in document.file.name


def test_windows_paths_and_overlong_names_are_trimmed():
    assert sanitise_display_name("C:\\Users\\alice\\lease.pdf") == "lease.pdf"
    long_name = sanitise_display_name("a" * 500 + ".pdf")
    assert len(long_name) == 120 and long_name.endswith(".pdf")
    assert sanitise_display_name("\u202e\u0000", fallback_extension="pdf") == "document.pdf"


def test_the_same_bytes_twice_are_stored_once(alice, lease_type):
    content = make_pdf("same")
    first = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("a.pdf", content))
    second = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("b.pdf", content))
    assert first.pk == second.pk
    assert Document.objects.filter(owner=alice).count() == 1


def test_the_same_bytes_of_two_people_are_two_documents(alice, bob, lease_type):
    content = make_pdf("shared")
    first = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("a.pdf", content))
    second = document_upload(owner=bob, document_type=lease_type, uploaded_file=upload("a.pdf", content))
    assert first.pk != second.pk and first.file.name != second.file.name


def test_content_detection_ignores_the_name():
    assert detect_content_type(make_pdf()) == "application/pdf"
    assert detect_content_type(make_png()) == "image/png"
    assert detect_content_type(HTML) == "text/html"
    assert detect_content_type("plain 文本".encode()) == "text/plain"
