"""Deleting from the vault: refused while a submitted application relies on the document."""

import pytest
from django.urls import reverse
from django.utils import timezone

from documents.actions import DeletionRefused, document_delete, document_upload
from documents.models import Document
from documents.storage import private_storage
from documents.tests.conftest import make_pdf, upload
from workflows.models import ApplicationGroup, GroupDocument

pytestmark = pytest.mark.django_db


@pytest.fixture
def lease(alice, lease_type) -> Document:
    return document_upload(owner=alice, document_type=lease_type, uploaded_file=upload("lease.pdf", make_pdf()))


def attach(document: Document, *, submitted: bool) -> ApplicationGroup:
    group = ApplicationGroup.objects.create(
        applicant=document.owner,
        number="2026-MKT-000123" if submitted else None,
        submitted_at=timezone.now() if submitted else None,
    )
    GroupDocument.objects.create(group=group, document_type=document.document_type, document=document)
    return group


def test_deleting_removes_the_row_the_rendition_and_the_sealed_original(
    alice, lease, django_capture_on_commit_callbacks
):
    name, original = lease.file.name, lease.original.name
    assert private_storage.exists(original)
    with django_capture_on_commit_callbacks(execute=True):
        document_delete(document=lease, actor=alice)
    assert not Document.objects.filter(pk=lease.pk).exists()
    assert not private_storage.exists(name)
    assert not private_storage.exists(original)


def test_a_document_of_a_submitted_application_cannot_be_deleted(alice, lease):
    attach(lease, submitted=True)
    with pytest.raises(DeletionRefused, match=r"part of a submitted application \(2026-MKT-000123\)"):
        document_delete(document=lease, actor=alice)
    assert Document.objects.filter(pk=lease.pk).exists() and private_storage.exists(lease.file.name)


def test_the_page_explains_the_refusal(client, alice, lease):
    attach(lease, submitted=True)
    client.force_login(alice)
    vault = client.get(reverse("documents:vault")).text
    assert "2026-MKT-000123" in vault  # where it was used
    response = client.post(reverse("documents:delete", args=[lease.pk]))
    assert response.status_code == 409
    assert "cannot be deleted because it is part of a submitted application" in response.text
    assert Document.objects.filter(pk=lease.pk).exists()


def test_a_document_picked_only_in_a_draft_can_be_deleted_and_leaves_the_draft(alice, lease):
    group = attach(lease, submitted=False)
    document_delete(document=lease, actor=alice)
    assert not Document.objects.filter(pk=lease.pk).exists()
    assert not group.documents.exists()


def test_bob_cannot_delete_alices_document(bob, lease):
    from django.http import Http404

    with pytest.raises(Http404):
        document_delete(document=lease, actor=bob)
    assert Document.objects.filter(pk=lease.pk).exists()
