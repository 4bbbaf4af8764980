"""The hostile-file corpus (tests/corpus/files.py) sent to `POST /api/vault/documents/`.

Each refused file is refused with the sentence naming its rule and leaves nothing behind (no
row, no file); each accepted one is stored as a rewritten rendition, the only bytes served,
with the original sealed beside it. Scanned by the suite's clamd test peer, or by a real clamd
when the run starts with CLAMD_SOCKET / CLAMD_HOST set (`make hostile-files`).
"""

import io
from pathlib import Path

import pikepdf
import pytest
from django.test import override_settings
from PIL import Image
from rest_framework.test import APIClient

from documents.models import Document
from documents.originals import original_open
from documents.storage import private_storage
from services.models import DocumentType
from tests.corpus.files import build_corpus

pytestmark = pytest.mark.django_db

CORPUS = {item.key: item for item in build_corpus()}
ACCEPTED = [key for key, item in CORPUS.items() if item.accepted]
REFUSED = [key for key, item in CORPUS.items() if not item.accepted]


@pytest.fixture
def evidence_type(db) -> DocumentType:
    return DocumentType.objects.get_or_create(
        code="corpus-evidence",
        defaults={
            "name_en": "Supporting evidence",
            "name_zh": "证明材料",
            "allowed_content_types": ["application/pdf", "image/jpeg", "image/png"],
            "max_bytes": 5 * 1024 * 1024,
        },
    )[0]


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def stored_files() -> set[str]:
    root = Path(private_storage.location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def send(api: APIClient, key: str):
    item = CORPUS[key]
    upload = io.BytesIO(item.content)
    upload.name = item.name
    return api.post("/api/vault/documents/", {"document_type": "corpus-evidence", "file": upload}, format="multipart")


def served_bytes(api: APIClient, document_id: int) -> bytes:
    response = api.get(f"/api/vault/documents/{document_id}/download/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("key", REFUSED)
def test_each_hostile_file_is_refused_with_its_rule_and_nothing_is_stored(api, evidence_type, key):
    before = stored_files()
    response = send(api, key)
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["file"])
    assert CORPUS[key].refused_with in message
    assert not Document.objects.exists()
    assert stored_files() == before


@pytest.mark.parametrize("key", ACCEPTED)
def test_each_valid_file_is_stored_as_a_rendition_and_only_that_is_served(api, evidence_type, key):
    response = send(api, key)
    assert response.status_code == 201, response.content
    document = Document.objects.get(pk=response.json()["id"])
    assert document.scan_status == Document.ScanStatus.CLEAN
    served = served_bytes(api, document.pk)
    assert served != CORPUS[key].content  # the rendition, never the upload
    assert original_open(document.original.name) == CORPUS[key].content  # kept, sealed
    with private_storage.open(document.original.name, "rb") as sealed:
        assert CORPUS[key].content not in sealed.read()
    assert "/" not in document.display_name and "\u202e" not in document.display_name


def test_the_pdf_rendition_keeps_the_page_and_drops_the_metadata(api, evidence_type):
    document_id = send(api, "valid-pdf").json()["id"]
    with pikepdf.open(io.BytesIO(served_bytes(api, document_id))) as pdf:
        assert len(pdf.pages) == 1
        assert "/Info" not in pdf.trailer and "/Metadata" not in pdf.Root
    assert b"Somebody's laptop" in CORPUS["valid-pdf"].content


def test_the_exif_jpeg_is_served_upright_without_exif_or_gps(api, evidence_type):
    original = Image.open(io.BytesIO(CORPUS["exif-jpeg"].content))
    assert original.getexif().get(0x0112) == 6 and original.size == (20, 10)
    served = served_bytes(api, send(api, "exif-jpeg").json()["id"])
    assert b"<?php" not in served and b"Exif" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == "JPEG"
        assert image.size == (10, 20)  # the orientation applied before EXIF was dropped
        assert not image.getexif() and "exif" not in image.info
        assert not image.getexif().get_ifd(0x8825)


def test_names_with_direction_overrides_and_path_parts_are_made_harmless(api, evidence_type):
    rlo = Document.objects.get(pk=send(api, "rlo-name").json()["id"])
    dots = Document.objects.get(pk=send(api, "dot-dot-name").json()["id"])
    assert rlo.display_name == "gpj.exe.pdf"
    assert dots.display_name == "passwd.pdf"
    assert ".." not in dots.file.name and "passwd" not in dots.file.name


def test_eicar_in_a_pdf_is_stored_as_not_scanned_without_a_scanner_in_development(api, evidence_type):
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST="", DOCUMENT_SCAN_REQUIRED=False):
        response = send(api, "pdf-eicar")
    assert response.status_code == 201
    assert response.json()["scan_status"] == "not_scanned"


def test_eicar_in_a_pdf_is_refused_503_without_a_scanner_in_production(api, evidence_type):
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST="", DOCUMENT_SCAN_REQUIRED=True):
        response = send(api, "pdf-eicar")
    assert response.status_code == 503
    assert "Try again later" in " ".join(response.json()["file"])
    assert not Document.objects.exists()
