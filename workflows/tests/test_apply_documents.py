"""Required documents: picked from the vault (attached by reference) or uploaded once (and
then in the vault for next time); each asked once however many services need it."""

import pytest
from django.urls import reverse

from documents.models import Document
from workflows.apply.actions import AttachRefused, draft_attach_document, draft_save, draft_start
from workflows.models import GroupDocument
from workflows.tests.test_apply_support import catalogue, pdf_upload, vault_document  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_documents_step_offers_valid_vault_documents(client, alice, catalogue):  # noqa: F811
    lease = vault_document(alice, catalogue.lease)
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    client.force_login(alice)
    page = client.get(reverse("workflows:apply-materials", args=[group.pk])).content.decode()
    assert f"Use {lease.display_name} from my vault" in page
    assert page.count('<h2 class="govuk-fieldset__heading">Lease contract') == 1  # two services, asked once
    assert "Needed for: Business licence, Fire safety check" in page
    assert "Floor plan" not in page  # only for premises over 300 m²
    assert "Business licence</h2>" not in page  # produced by this bundle


def test_picking_a_vault_document_attaches_it_by_reference(client, alice, catalogue):  # noqa: F811
    lease = vault_document(alice, catalogue.lease)
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    response = client.post(reverse("workflows:apply-materials", args=[group.pk]), {"material__lease": str(lease.pk)})
    assert response.status_code == 302
    assert GroupDocument.objects.get(group=group, document_type=catalogue.lease).document == lease
    assert Document.objects.count() == 1


def test_a_new_upload_lands_in_the_vault_and_is_attached(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    response = client.post(
        reverse("workflows:apply-materials", args=[group.pk]),
        {"material__lease": "new", "material__lease__file": pdf_upload("my lease.pdf")},
    )
    assert response.status_code == 302
    document = Document.objects.get(owner=alice, document_type=catalogue.lease)
    assert document.display_name == "my lease.pdf"
    assert GroupDocument.objects.get(group=group).document == document


def test_a_refused_upload_is_explained_next_to_its_document(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    from django.core.files.uploadedfile import SimpleUploadedFile

    disguised = SimpleUploadedFile("lease.pdf", b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf")
    response = client.post(
        reverse("workflows:apply-materials", args=[group.pk]),
        {"material__lease": "new", "material__lease__file": disguised},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert 'id="material__lease-error"' in page
    assert not Document.objects.exists()


def test_a_document_of_another_type_cannot_be_attached(alice, catalogue):  # noqa: F811
    id_card = vault_document(alice, catalogue.id_card)
    group = draft_start(applicant=alice, service=catalogue.licence)
    with pytest.raises(AttachRefused):
        draft_attach_document(applicant=alice, group_id=group.pk, document_type=catalogue.lease, document_id=id_card.pk)


def test_an_expired_document_is_not_offered_and_not_accepted(client, alice, catalogue):  # noqa: F811
    import datetime

    lease = vault_document(alice, catalogue.lease)
    Document.objects.filter(pk=lease.pk).update(valid_until=datetime.date(2020, 1, 1))
    group = draft_start(applicant=alice, service=catalogue.licence)
    client.force_login(alice)
    assert "from my vault" not in client.get(reverse("workflows:apply-materials", args=[group.pk])).content.decode()
    with pytest.raises(AttachRefused):
        draft_attach_document(applicant=alice, group_id=group.pk, document_type=catalogue.lease, document_id=lease.pk)


def test_the_conditional_floor_plan_is_asked_for_large_premises(client, alice, catalogue):  # noqa: F811
    group = draft_start(applicant=alice, life_event=catalogue.restaurant)
    draft_save(applicant=alice, group_id=group.pk, values={"business.floor_area_m2": "450"})
    client.force_login(alice)
    page = client.get(reverse("workflows:apply-materials", args=[group.pk])).content.decode()
    assert "Floor plan" in page
