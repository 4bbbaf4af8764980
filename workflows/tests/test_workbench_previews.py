"""The clerk's first-page preview: drawn on the server from the rendition, shown in a sandboxed
frame whose page may run no script, and recorded like opening the document. The original as
uploaded is never served by any URL."""

import io

import pytest
from django.test import override_settings
from PIL import Image

from documents.models import Document
from documents.originals import original_open
from documents.storage import private_storage
from workflows.models import DataAccessRecord
from workflows.tests.test_workbench_support import attach_lease, routed_application, step, version_with

pytestmark = pytest.mark.django_db

FRAME_CSP = {
    "default-src 'none'",
    "img-src 'self'",
    "style-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
}


@pytest.fixture
def application(alice, department_a, department_b):
    return routed_application(applicant=alice, version=version_with())


@pytest.fixture
def item(application):
    return step(application)


@pytest.fixture
def lease(application) -> Document:
    return attach_lease(application, "Lease of 1 Renmin Road")


def urls(item, document) -> dict[str, str]:
    base = f"/workbench/items/{item.pk}/documents/{document.pk}"
    return {"open": f"{base}/", "frame": f"{base}/preview/", "image": f"{base}/preview.png"}


def test_the_item_page_offers_the_preview_in_a_sandboxed_frame_without_loosening_its_own_policy(
    client, clerk_a, item, lease
):
    client.force_login(clerk_a)
    response = client.get(f"/workbench/items/{item.pk}/")
    body = response.text
    assert f'src="{urls(item, lease)["frame"]}" sandbox="allow-same-origin"' in body
    assert 'title="First page of lease.pdf"' in body
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_frame_page_runs_nothing_and_may_be_framed_only_by_our_pages(client, clerk_a, item, lease):
    client.force_login(clerk_a)
    response = client.get(urls(item, lease)["frame"])
    assert response.status_code == 200
    assert set(response["Content-Security-Policy"].split("; ")) == FRAME_CSP  # and no script-src
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    # No script and no inline style; only our own stylesheet, which fits the image to the frame.
    assert "<script" not in response.text and "style=" not in response.text and "<style" not in response.text
    assert '<link rel="stylesheet" href="/static/css/preview_frame.css">' in response.text
    assert f'<img src="{urls(item, lease)["image"]}" alt="First page of lease.pdf">' in response.text
    assert not DataAccessRecord.objects.filter(document=lease).exists()  # the page alone shows nothing


def test_the_preview_is_a_png_of_the_first_page_and_is_recorded(client, clerk_a, item, lease):
    client.force_login(clerk_a)
    response = client.get(urls(item, lease)["image"])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG" and image.width <= 600
        # Drawn, not blank: the page's text left dark pixels.
        assert image.convert("L").getextrema()[0] < 100
    record = DataAccessRecord.objects.get(document=lease)
    assert record.accessor == clerk_a and record.what == DataAccessRecord.What.OPEN_DOCUMENT


def test_every_url_serves_the_rendition_never_the_original(client, clerk_a, alice, item, lease):
    original = original_open(lease.original.name)
    with private_storage.open(lease.file.name, "rb") as stored:
        rendition = stored.read()
    assert rendition != original
    client.force_login(clerk_a)
    opened = b"".join(client.get(urls(item, lease)["open"]).streaming_content)
    assert opened == rendition
    served = [opened, client.get(urls(item, lease)["image"]).content]
    client.force_login(alice)
    served.append(b"".join(client.get(f"/vault/{lease.pk}/download/").streaming_content))
    served.append(b"".join(client.get(f"/api/vault/documents/{lease.pk}/download/").streaming_content))
    served.append(client.get(f"/vault/{lease.pk}/preview.png").content)
    for body in served:
        assert body != original and original not in body
    # The sealed original is not the original either: nothing at rest holds it in the clear.
    with private_storage.open(lease.original.name, "rb") as sealed:
        assert original not in sealed.read()


def test_a_clerk_of_another_department_gets_404(client, clerk_b, item, lease):
    client.force_login(clerk_b)
    for url in urls(item, lease).values():
        assert client.get(url).status_code == 404
    assert not DataAccessRecord.objects.filter(document=lease).exists()


def test_a_document_not_yet_checked_has_no_preview(client, clerk_a, application, item):
    with override_settings(CLAMD_SOCKET="", CLAMD_HOST="", DOCUMENT_SCAN_REQUIRED=False):
        unscanned = attach_lease(application, "Not scanned")
    client.force_login(clerk_a)
    assert urls(item, unscanned)["frame"] not in client.get(f"/workbench/items/{item.pk}/").text
    for url in urls(item, unscanned).values():
        assert client.get(url).status_code == 404
    assert not DataAccessRecord.objects.filter(document=unscanned).exists()


def test_the_owner_sees_the_first_page_and_bob_gets_404(client, alice, bob, lease):
    client.force_login(alice)
    response = client.get(f"/vault/{lease.pk}/preview.png")
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    client.force_login(bob)
    assert client.get(f"/vault/{lease.pk}/preview.png").status_code == 404
