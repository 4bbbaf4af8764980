"""Bob must never see, change, attach to or submit Alice's drafts, nor use her documents: 404
everywhere, as if they did not exist (never 403, never 500)."""

import pytest
from django.urls import reverse

from documents.models import Document
from workflows.apply.actions import draft_attach_document, draft_start, group_submit
from workflows.models import ApplicationGroup, GroupDocument
from workflows.tests.test_apply_support import catalogue, pdf_upload, vault_document  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_draft(alice, catalogue):  # noqa: F811
    return draft_start(applicant=alice, service=catalogue.licence)


@pytest.mark.parametrize("name", ["apply-resume", "apply-section", "apply-materials", "apply-review", "apply-receipt"])
def test_bob_gets_404_for_every_page_of_alices_draft(client, bob, alices_draft, name):
    client.force_login(bob)
    args = [alices_draft.pk, 1] if name == "apply-section" else [alices_draft.pk]
    assert client.get(reverse(f"workflows:{name}", args=args)).status_code == 404


def test_bob_cannot_save_answers_into_alices_draft(client, bob, alices_draft):
    client.force_login(bob)
    url = reverse("workflows:apply-section", args=[alices_draft.pk, 2])
    data = {"base_revision": 0, "business__name": "Bob's", "base__business__name": ""}
    assert client.post(url, data).status_code == 404
    alices_draft.refresh_from_db()
    assert "business.name" not in alices_draft.data


def test_bob_cannot_submit_or_move_alices_draft(client, bob, alices_draft):
    client.force_login(bob)
    assert client.post(reverse("workflows:apply-submit", args=[alices_draft.pk]), {"token": "t"}).status_code == 404
    assert client.post(reverse("workflows:apply-move-to-current", args=[alices_draft.pk])).status_code == 404
    with pytest.raises(Exception) as raised:
        group_submit(applicant=bob, group_id=alices_draft.pk, idempotency_key="k")
    assert raised.type.__name__ == "Http404"
    assert ApplicationGroup.objects.get(pk=alices_draft.pk).is_draft


def test_bob_cannot_upload_into_alices_draft_and_nothing_lands_in_a_vault(client, bob, alices_draft, catalogue):  # noqa: F811
    client.force_login(bob)
    url = reverse("workflows:apply-materials", args=[alices_draft.pk])
    response = client.post(url, {"material__lease": "new", "material__lease__file": pdf_upload()})
    assert response.status_code == 404
    assert not Document.objects.exists()


def test_bob_cannot_attach_alices_document_to_his_own_draft(client, alice, bob, catalogue):  # noqa: F811
    alices_lease = vault_document(alice, catalogue.lease)
    bobs_draft = draft_start(applicant=bob, service=catalogue.licence)
    client.force_login(bob)

    response = client.post(
        reverse("workflows:apply-materials", args=[bobs_draft.pk]), {"material__lease": str(alices_lease.pk)}
    )

    assert response.status_code == 404
    assert not GroupDocument.objects.exists()
    with pytest.raises(Exception) as raised:
        draft_attach_document(
            applicant=bob, group_id=bobs_draft.pk, document_type=catalogue.lease, document_id=alices_lease.pk
        )
    assert raised.type.__name__ == "Http404"


def test_bob_gets_404_from_the_drafts_api(client, bob, alices_draft, catalogue):  # noqa: F811
    client.force_login(bob)
    base = f"/api/drafts/{alices_draft.pk}/"
    assert client.get(base).status_code == 404
    assert client.patch(base, {"data": {"business.name": "x"}}, content_type="application/json").status_code == 404
    assert client.post(base + "submit/", HTTP_IDEMPOTENCY_KEY="k").status_code == 404
    assert (
        client.post(base + "documents/", {"document_type": "lease", "document": 1}, content_type="application/json")
    ).status_code == 404
    assert client.post(base + "move-to-current/").status_code == 404
    assert client.get("/api/drafts/").json()["results"] == []


def test_a_malformed_or_unknown_draft_id_is_a_404(client, alice, catalogue):  # noqa: F811
    client.force_login(alice)
    assert client.get("/applications/999999/review/").status_code == 404
    assert client.get("/api/drafts/999999/").status_code == 404
