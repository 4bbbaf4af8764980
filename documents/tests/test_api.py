"""The vault API: mine only, multipart upload with the same checks, 404 for everyone else."""

import pytest
from rest_framework.test import APIClient

from documents.actions import document_upload
from documents.models import Document
from documents.tests.conftest import make_pdf, make_png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def alices_lease(alice, lease_type) -> Document:
    return document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()))


def test_the_api_needs_signing_in(api, alices_lease):
    assert api.get("/api/vault/documents/").status_code == 403
    assert api.get(f"/api/vault/documents/{alices_lease.pk}/download/").status_code == 403


def test_listing_shows_only_my_documents(api, alice, bob, lease_type, alices_lease):
    document_upload(owner=bob, document_type=lease_type, uploaded_file=upload("bob.pdf", make_pdf("bob")))
    api.force_authenticate(alice)
    body = api.get("/api/vault/documents/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == alices_lease.pk and item["document_type"] == "test-lease"
    assert item["display_name"] == "lease.pdf" and item["scan_status"] == "clean"
    assert item["download_url"] == f"/api/vault/documents/{alices_lease.pk}/download/"


def test_multipart_upload_creates_then_returns_the_same_document(api, alice, lease_type):
    api.force_authenticate(alice)
    content = make_png()
    first = api.post("/api/vault/documents/", {"document_type": "test-lease", "file": upload("scan.png", content)})
    assert first.status_code == 201, first.content
    assert first.json()["content_type"] == "image/png"
    second = api.post("/api/vault/documents/", {"document_type": "test-lease", "file": upload("again.png", content)})
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert Document.objects.filter(owner=alice).count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.pdf", b"", "empty"),
        ("disguised.pdf", b"MZ\x90\x00" * 100, "must be a PDF, JPEG, PNG file"),
        ("page.png", b"<html><script>alert(1)</script></html>", "must be a PDF, JPEG, PNG file"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj\n", "not a complete PDF"),
    ],
)
def test_bad_uploads_get_400_with_a_clear_message(api, alice, lease_type, name, content, message):
    api.force_authenticate(alice)
    response = api.post("/api/vault/documents/", {"document_type": "test-lease", "file": upload(name, content)})
    assert response.status_code == 400
    assert message in " ".join(response.json()["file"])
    assert not Document.objects.exists()


def test_an_unknown_type_or_missing_file_is_400(api, alice, lease_type):
    api.force_authenticate(alice)
    response = api.post("/api/vault/documents/", {"document_type": "nope"})
    assert response.status_code == 400
    assert set(response.json()) == {"document_type", "file"}


def test_detail_and_download_for_the_owner(api, alice, alices_lease):
    api.force_authenticate(alice)
    assert api.get(f"/api/vault/documents/{alices_lease.pk}/").json()["sha256"] == alices_lease.sha256
    response = api.get(f"/api/vault/documents/{alices_lease.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_bob_gets_404_for_alices_document_everywhere(api, bob, alices_lease):
    api.force_authenticate(bob)
    assert api.get("/api/vault/documents/").json()["count"] == 0
    assert api.get(f"/api/vault/documents/{alices_lease.pk}/").status_code == 404
    assert api.get(f"/api/vault/documents/{alices_lease.pk}/download/").status_code == 404
    assert api.delete(f"/api/vault/documents/{alices_lease.pk}/").status_code == 404
    assert Document.objects.filter(pk=alices_lease.pk).exists()


def test_the_owner_can_delete_through_the_api(api, alice, alices_lease):
    api.force_authenticate(alice)
    assert api.delete(f"/api/vault/documents/{alices_lease.pk}/").status_code == 204
    assert not Document.objects.exists()


def test_the_schema_describes_the_vault_endpoints(api, alice):
    api.force_authenticate(alice)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/vault/documents/" in schema["paths"]
    assert "multipart/form-data" in schema["paths"]["/api/vault/documents/"]["post"]["requestBody"]["content"]
