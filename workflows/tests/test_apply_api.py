"""The drafts API: create, read, update field by field with the revision, list, attach a
vault document, and submit once with an Idempotency-Key header."""

import datetime

import pytest

from workflows.models import Application
from workflows.tests.test_apply_support import (  # noqa: F401
    ALICE_ID,
    GOOD_ANSWERS,
    catalogue,
    vault_document,
    verify_alice,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, alice):
    client.force_login(alice)
    return client


def _create(api, **body):
    return api.post("/api/drafts/", body, content_type="application/json")


def _patch(api, draft_id, data, revision=None):
    body = {"data": data} if revision is None else {"data": data, "revision": revision}
    return api.patch(f"/api/drafts/{draft_id}/", body, content_type="application/json")


def test_create_read_and_list(api, alice, catalogue):  # noqa: F811
    verify_alice(alice)
    created = _create(api, life_event="open-a-restaurant")
    assert created.status_code == 201
    draft = created.json()
    assert draft["status"] == "draft"
    assert [s["code"] for s in draft["services"]] == ["business-licence", "fire-safety-check", "tax-registration"]
    assert draft["data"]["person.id_number"] == ALICE_ID
    name = next(q for q in draft["questions"] if q["key"] == "person.full_name")
    assert name["verified"] is True and len(name["services"]) == 3
    assert {m["label"] for m in draft["missing"]} >= {"Business name", "Lease contract"}

    assert api.get(f"/api/drafts/{draft['id']}/").json()["revision"] == draft["revision"]
    listed = api.get("/api/drafts/").json()
    assert [d["id"] for d in listed["results"]] == [draft["id"]]


def test_create_needs_a_known_service_or_life_event(api, catalogue):  # noqa: F811
    assert _create(api).status_code == 400
    assert _create(api, service="nope").status_code == 400
    assert _create(api, service="business-licence", life_event="open-a-restaurant").status_code == 400


def test_update_returns_errors_per_field_and_saves_the_valid_ones(api, catalogue):  # noqa: F811
    draft = _create(api, service="business-licence").json()
    response = _patch(api, draft["id"], {"business.name": "Noodles", "person.id_number": "110105194912310021"})
    assert response.status_code == 400
    body = response.json()
    assert "last character does not match" in body["errors"]["person.id_number"][0]
    assert body["data"]["business.name"] == "Noodles"


def test_update_merges_and_reports_a_conflict_with_409(api, catalogue):  # noqa: F811
    draft = _create(api, service="business-licence").json()
    loaded = draft["revision"]
    assert _patch(api, draft["id"], {"business.name": "Tab One"}, loaded).status_code == 200
    response = _patch(api, draft["id"], {"business.name": "Tab Two", "person.phone": "13800138000"}, loaded)
    assert response.status_code == 409
    body = response.json()
    assert body["conflicts"] == {"business.name": "Tab One"}
    assert body["data"]["person.phone"] == "13800138000"


def test_submit_with_an_idempotency_key(api, alice, catalogue):  # noqa: F811
    draft = _create(api, service="business-licence").json()
    assert api.post(f"/api/drafts/{draft['id']}/submit/").status_code == 400  # no key
    incomplete = api.post(f"/api/drafts/{draft['id']}/submit/", HTTP_IDEMPOTENCY_KEY="k-1")
    assert incomplete.status_code == 422
    assert {"Business name", "Lease contract"} <= {m["label"] for m in incomplete.json()["missing"]}

    answers = {k: v for k, v in GOOD_ANSWERS.items() if k != "business.has_employees"}
    assert _patch(api, draft["id"], answers).status_code == 200
    for document_type in (catalogue.id_card, catalogue.lease):
        document = vault_document(alice, document_type)
        attached = api.post(
            f"/api/drafts/{draft['id']}/documents/",
            {"document_type": document_type.code, "document": document.pk},
            content_type="application/json",
        )
        assert attached.status_code == 200

    first = api.post(f"/api/drafts/{draft['id']}/submit/", HTTP_IDEMPOTENCY_KEY="k-2")
    again = api.post(f"/api/drafts/{draft['id']}/submit/", HTTP_IDEMPOTENCY_KEY="k-2")

    assert (first.status_code, again.status_code) == (201, 200)
    # The receipt, the same for the repeat: the number and the applications, not the whole draft.
    receipt = first.json()
    assert receipt == again.json()
    application = Application.objects.get()
    assert receipt["id"] == draft["id"] and receipt["status"] == "submitted"
    assert receipt["number"] == application.number
    assert receipt["applications"] == [
        {
            "number": application.number,
            "service": "business-licence",
            "status": "submitted",
            "statutory_due_at": receipt["applications"][0]["statutory_due_at"],
        }
    ]
    assert (
        datetime.datetime.fromisoformat(receipt["applications"][0]["statutory_due_at"]) == application.statutory_due_at
    )
    assert "questions" not in receipt
    assert api.get(f"/api/drafts/{draft['id']}/").json()["status"] == "submitted"
    assert Application.objects.count() == 1
    assert _patch(api, draft["id"], {"business.name": "Later"}).status_code == 409


def test_the_schema_documents_the_drafts_api(api):
    schema = api.get("/api/schema/").content.decode()
    assert "/api/drafts/{group_id}/submit/" in schema
    assert "Idempotency-Key" in schema
