"""The vault pages: list, upload with clear errors, delete with confirmation, download; Bob sees nothing of Alice's."""

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from documents.actions import document_upload
from documents.models import Document
from documents.tests.conftest import make_pdf, make_png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_lease(alice, lease_type) -> Document:
    return document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("alice-lease.pdf", make_pdf()))


def test_the_vault_needs_signing_in(client):
    response = client.get(reverse("documents:vault"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_empty_vault_says_so(client, alice, lease_type):
    client.force_login(alice)
    response = client.get(reverse("documents:vault"))
    assert response.status_code == 200
    assert "Your vault is empty" in response.text
    assert "Tenancy agreement" in response.text  # offered in the upload form


def test_the_vault_lists_my_documents_with_validity_and_scan_status(client, alice, alices_lease):
    client.force_login(alice)
    response = client.get(reverse("documents:vault"))
    assert "alice-lease.pdf" in response.text
    assert f"Valid until {date_format(alices_lease.valid_until, 'DATE_FORMAT')}" in response.text
    assert "Clean" in response.text and "Not used yet" in response.text
    assert 'href="/vault/"' in response.text  # the nav link


def test_expired_and_soon_expiring_documents_are_marked(client, alice, lease_type, alices_lease):
    import datetime

    from django.utils import timezone

    Document.objects.filter(pk=alices_lease.pk).update(valid_until=timezone.localdate() - datetime.timedelta(days=1))
    soon = document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("soon.png", make_png()))
    Document.objects.filter(pk=soon.pk).update(valid_until=timezone.localdate() + datetime.timedelta(days=3))
    client.force_login(alice)
    text = client.get(reverse("documents:vault")).text
    assert "Expired on" in text and "Expires soon" in text


def test_uploading_through_the_page_lands_in_the_vault(client, alice, lease_type):
    client.force_login(alice)
    response = client.post(
        reverse("documents:vault"), {"document_type": lease_type.pk, "file": upload("my lease.pdf", make_pdf())}
    )
    assert response.status_code == 302
    assert "my lease.pdf" in client.get(reverse("documents:vault")).text
    assert Document.objects.filter(owner=alice).count() == 1


def test_a_refused_upload_shows_the_reason_next_to_the_field_and_keeps_the_type(client, alice, lease_type):
    client.force_login(alice)
    response = client.post(
        reverse("documents:vault"), {"document_type": lease_type.pk, "file": upload("virus.pdf", b"MZ\x90\x00" * 80)}
    )
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "must be a PDF, JPEG, PNG file" in response.text
    assert 'href="#id_file"' in response.text
    assert f'value="{lease_type.pk}" selected' in response.text
    assert not Document.objects.exists()


def test_uploading_without_a_type_or_file_says_what_is_missing(client, alice, lease_type):
    client.force_login(alice)
    response = client.post(reverse("documents:vault"), {})
    assert response.status_code == 400
    assert "Choose the type of document" in response.text and "Choose a file to upload" in response.text


def test_pagination_shows_twenty_per_page(client, alice, lease_type):
    for n in range(23):
        document_upload(owner=alice, document_type=lease_type, uploaded_file=upload(f"doc{n}.pdf", make_pdf(f"n{n}")))
    client.force_login(alice)
    first = client.get(reverse("documents:vault")).text
    assert "Page 1 of 2" in first and "doc22.pdf" in first and "doc0.pdf" not in first
    second = client.get(reverse("documents:vault") + "?page=2").text
    assert "doc0.pdf" in second


def test_download_gives_the_bytes_to_the_owner(client, alice, alices_lease):
    client.force_login(alice)
    response = client.get(reverse("documents:download", args=[alices_lease.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == alices_lease.file.open("rb").read()
    assert response["Content-Disposition"].startswith("attachment;")


def test_delete_asks_first_then_deletes(client, alice, alices_lease):
    client.force_login(alice)
    page = client.get(reverse("documents:delete", args=[alices_lease.pk]))
    assert "Delete “alice-lease.pdf”?" in page.text and "Yes, delete it" in page.text
    assert Document.objects.filter(pk=alices_lease.pk).exists()
    response = client.post(reverse("documents:delete", args=[alices_lease.pk]))
    assert response.status_code == 302
    assert not Document.objects.filter(pk=alices_lease.pk).exists()


@pytest.mark.parametrize("name", ["documents:download", "documents:delete"])
def test_bob_gets_404_for_alices_document(client, bob, alices_lease, name):
    client.force_login(bob)
    assert client.get(reverse(name, args=[alices_lease.pk])).status_code == 404
    assert client.post(reverse("documents:delete", args=[alices_lease.pk])).status_code == 404
    assert Document.objects.filter(pk=alices_lease.pk).exists()


def test_bob_does_not_see_alices_documents_in_his_vault(client, bob, alices_lease):
    client.force_login(bob)
    text = client.get(reverse("documents:vault")).text
    assert "alice-lease.pdf" not in text and "Your vault is empty" in text


def test_a_clerk_cannot_open_a_citizens_document_through_the_vault(client, clerk_a, alices_lease):
    client.force_login(clerk_a)
    assert client.get(reverse("documents:download", args=[alices_lease.pk])).status_code == 404
