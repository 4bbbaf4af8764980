"""The workbench API: queue with filters and keyset cursor, claim, release, decide, correction."""

import pytest
from rest_framework.test import APIClient

from workflows.engine.actions import work_item_claim
from workflows.models import Application, WorkItem
from workflows.tests.factories import VALID_ID
from workflows.tests.test_workbench_support import bulk_queue, routed_application, step, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, department_a, department_b):
    return routed_application(applicant=alice, version=version_with())


@pytest.fixture
def api(clerk_a):
    client = APIClient()
    client.force_authenticate(clerk_a)
    return client


def test_the_queue_lists_with_masked_ids_and_counts(api, application):
    response = api.get("/api/workbench/items/")
    assert response.status_code == 200
    data = response.json()
    assert data["counts"]["unclaimed"] == 1
    [row] = data["results"]
    assert row["application_number"] == application.number
    assert row["applicant_id_number"] == "110105********002X"
    assert VALID_ID not in response.content.decode()


def test_the_queue_filters_and_searches_like_the_page(api, application):
    assert api.get("/api/workbench/items/", {"q": VALID_ID}).json()["results"][0]["id"] == step(application).pk
    assert api.get("/api/workbench/items/", {"q": "nobody"}).json()["results"] == []
    assert api.get("/api/workbench/items/", {"service": "other"}).json()["results"] == []
    assert api.get("/api/workbench/items/", {"tab": "mine"}).json()["results"] == []


def test_the_cursor_walks_pages(api, alice, department_a):
    bulk_queue(department=department_a, applicant=alice, count=30)
    first = api.get("/api/workbench/items/", {"limit": 20}).json()
    second = api.get("/api/workbench/items/", {"limit": 20, "after": first["next_cursor"]}).json()
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(ids) == 30 == len(set(ids))
    assert second["next_cursor"] is None


def test_bad_parameters_are_400_with_the_field(api, application):
    response = api.get("/api/workbench/items/", {"after": "!!!", "tab": "nope"})
    assert response.status_code == 400
    assert set(response.json()) == {"tab"}
    assert api.get("/api/workbench/items/", {"after": "garbage"}).status_code == 400


def test_claim_release_and_the_loser_gets_409(api, clerk_a, supervisor, application):
    item = step(application)
    response = api.post(f"/api/workbench/items/{item.pk}/claim/")
    assert response.status_code == 200 and response.json()["status"] == "claimed"
    other = APIClient()
    other.force_authenticate(supervisor)
    lost = other.post(f"/api/workbench/items/{item.pk}/claim/")
    assert lost.status_code == 409
    assert lost.json() == {"detail": "Already taken by Clerk A."}
    released = api.post(f"/api/workbench/items/{item.pk}/release/")
    assert released.json()["status"] == "open"


def test_decide_through_the_api(api, clerk_a, application):
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    refused = api.post(f"/api/workbench/items/{item.pk}/decide/", {"decision": "rejected"}, format="json")
    assert refused.status_code == 409
    assert "reason" in refused.json()["detail"]
    done = api.post(
        f"/api/workbench/items/{item.pk}/decide/", {"decision": "rejected", "reasons": ["No lease"]}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED


def test_request_correction_through_the_api(api, clerk_a, application):
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    empty = api.post(f"/api/workbench/items/{item.pk}/correction/", {"message": "Fix it"}, format="json")
    assert empty.status_code == 409
    asked = api.post(
        f"/api/workbench/items/{item.pk}/correction/",
        {"fields": ["business.name"], "message": "The name differs from the lease."},
        format="json",
    )
    assert asked.status_code == 200 and asked.json()["status"] == WorkItem.Status.WAITING
    twice = api.post(
        f"/api/workbench/items/{item.pk}/correction/", {"fields": ["business.name"], "message": "Again"}, format="json"
    )
    assert twice.status_code == 409


def test_the_schema_documents_the_workbench(client):
    body = client.get("/api/schema/").content.decode()
    for operation in (
        "workbench_queue",
        "workbench_claim",
        "workbench_release",
        "workbench_decide",
        "workbench_request_correction",
    ):
        assert operation in body


def test_a_transfer_through_the_api_waits_for_the_supervisor_who_decides_through_the_api(
    api, application, clerk_a, clerk_b, supervisor
):
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    response = api.post(
        f"/api/workbench/items/{item.pk}/transfer/", {"department": "fire", "reason": "Fire matter"}, format="json"
    )
    assert response.status_code == 202, response.content
    request_id = response.json()["id"]
    assert response.json()["status"] == "pending" and response.json()["to_department"] == "fire"
    # Only a supervisor of the step's department sees and decides it.
    assert api.get("/api/workbench/transfer-requests/").status_code == 404
    outsider = APIClient()
    outsider.force_authenticate(clerk_b)
    decide = f"/api/workbench/transfer-requests/{request_id}/decide/"
    assert outsider.post(decide, {"decision": "approve"}).status_code == 404
    boss = APIClient()
    boss.force_authenticate(supervisor)
    [pending] = boss.get("/api/workbench/transfer-requests/").json()
    assert pending["id"] == request_id and pending["reason"] == "Fire matter"
    refused = boss.post(decide, {"decision": "decline"}, format="json")
    assert refused.status_code == 409 and "Say why" in refused.json()["detail"]
    approved = boss.post(decide, {"decision": "approve"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    moved = step(application)
    assert moved.department.code == "fire" and moved.round == 2
    assert boss.get("/api/workbench/transfer-requests/").json() == []


def test_a_transfer_the_route_allows_happens_at_once_through_the_api(alice, clerk_a, department_a, department_b):
    route = {"steps": [{"key": "licence", "department": "market", "kind": "review", "transfer_to": ["fire"]}]}
    application = routed_application(applicant=alice, version=version_with(route))
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    client = APIClient()
    client.force_authenticate(clerk_a)
    response = client.post(
        f"/api/workbench/items/{item.pk}/transfer/", {"department": "fire", "reason": "Theirs"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["department"] == "fire" and response.json()["round"] == 2
