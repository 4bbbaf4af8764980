"""Downloads: a safe Content-Disposition whatever the name, headers that stop sniffing and caching,
and each production mode hands the file to the web server instead of streaming it."""

import pytest
from django.test import override_settings

from documents.actions import document_upload
from documents.delivery import ascii_fallback, content_disposition, file_response
from documents.models import Document
from documents.storage import private_storage
from documents.tests.conftest import make_pdf, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(alice, lease_type) -> Document:
    return document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("租赁合同.pdf", make_pdf()))


@pytest.mark.parametrize(
    "name",
    [
        'evil".pdf; filename=x.html',
        "line\r\nSet-Cookie: session=stolen.pdf",
        "../../etc/passwd.pdf",
        "王小明\u202efdp.exe",
        "tab\tand;semicolon,comma.pdf",
    ],
)
def test_content_disposition_cannot_be_broken_out_of(name):
    header = content_disposition(name, inline=False)
    assert "\r" not in header and "\n" not in header
    disposition, fallback, encoded = header.split("; ")
    assert disposition == "attachment"
    assert fallback.startswith('filename="') and fallback.endswith('"') and fallback.count('"') == 2
    assert encoded.startswith("filename*=UTF-8''")
    assert all(ch not in encoded.removeprefix("filename*=UTF-8''") for ch in ' ";,\\/')


def test_a_chinese_name_gets_an_ascii_fallback_and_a_utf8_name():
    header = content_disposition("租赁合同.pdf", inline=True)
    assert header == "inline; filename=\"document.pdf\"; filename*=UTF-8''%E7%A7%9F%E8%B5%81%E5%90%88%E5%90%8C.pdf"
    assert ascii_fallback("Café lease.pdf") == "Cafe lease.pdf"


def test_stream_mode_sends_the_bytes_with_protective_headers(document):
    response = file_response(document, inline=False)
    assert b"".join(response.streaming_content) == private_storage.open(document.file.name, "rb").read()
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("attachment;")


def test_inline_viewing_is_sandboxed(document):
    response = file_response(document, inline=True)
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Security-Policy"].startswith("sandbox")


def test_the_csp_middleware_keeps_the_sandbox_on_the_real_response(client, alice, document):
    client.force_login(alice)
    response = client.get(f"/vault/{document.pk}/download/?view=1")
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Disposition"].startswith("inline;")


@override_settings(PRIVATE_DOWNLOAD_MODE="x-accel-redirect", PRIVATE_DOWNLOAD_PREFIX="/protected/")
def test_x_accel_redirect_mode_hands_the_stored_name_to_nginx(document):
    response = file_response(document, inline=False)
    assert response["X-Accel-Redirect"] == "/protected/" + document.file.name
    assert response.content == b""
    assert response["Content-Disposition"].startswith("attachment;")


@override_settings(PRIVATE_DOWNLOAD_MODE="x-sendfile")
def test_x_sendfile_mode_hands_the_path_to_apache(document):
    response = file_response(document, inline=False)
    assert response["X-Sendfile"] == private_storage.path(document.file.name)
    assert response.content == b""
