"""The outsider matrix: every workbench URL and API endpoint, for the anonymous visitor,
citizens Alice and Bob, and a clerk of another department. Nothing leaks, nothing changes."""

import pytest
from rest_framework.test import APIClient

from workflows.models import DataAccessRecord, Incident, Note, WorkItem
from workflows.tests.test_workbench_support import attach_lease, routed_application, step, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, department_a, department_b):
    application = routed_application(applicant=alice, version=version_with())
    item = step(application)
    document = attach_lease(application)
    incident = Incident.objects.create(work_item=item, department=department_a, error="boom")
    return {"item": item.pk, "document": document.pk, "incident": incident.pk}


def page_urls(world) -> list[tuple[str, str, dict]]:
    item, document, incident = world["item"], world["document"], world["incident"]
    return [
        ("get", "/workbench/", {}),
        ("get", "/workbench/supervision/", {}),
        ("post", "/workbench/bulk/", {"action": "claim", "items": [item]}),
        ("get", f"/workbench/items/{item}/", {}),
        ("post", f"/workbench/items/{item}/claim/", {}),
        ("post", f"/workbench/items/{item}/release/", {}),
        ("post", f"/workbench/items/{item}/reveal/", {"field": "person.id_number"}),
        ("get", f"/workbench/items/{item}/documents/{document}/", {}),
        ("post", f"/workbench/items/{item}/decide/", {"decision": "approved"}),
        ("post", f"/workbench/items/{item}/correction/", {"fields_to_correct": ["business.name"], "message": "x"}),
        ("post", f"/workbench/items/{item}/notes/", {"text": "hello"}),
        ("post", f"/workbench/items/{item}/transfer/", {"department": 1, "reason": "x"}),
        ("post", f"/workbench/items/{item}/assign/", {"assignee": 1}),
        ("post", f"/workbench/items/{item}/certificates/1/revoke/", {"reason": "x"}),
        ("post", f"/workbench/incidents/{incident}/retry/", {}),
        ("get", "/workbench/counter/", {}),
    ]


# Pages every department member may open (the other department's clerk sees their own, empty).
MEMBER_PAGES = {"/workbench/", "/workbench/bulk/", "/workbench/counter/"}

API_URLS = [
    ("get", "/api/workbench/items/", {}),
    ("post", "/api/workbench/items/{item}/claim/", {}),
    ("post", "/api/workbench/items/{item}/release/", {}),
    ("post", "/api/workbench/items/{item}/decide/", {"decision": "approved"}),
    ("post", "/api/workbench/items/{item}/correction/", {"fields": ["business.name"], "message": "x"}),
]


def unchanged(world) -> None:
    item = WorkItem.objects.get(pk=world["item"])
    assert (item.status, item.assignee_id) == (WorkItem.Status.OPEN, None)
    assert not Note.objects.exists()
    assert not DataAccessRecord.objects.exists()
    assert Incident.objects.get().status == Incident.Status.OPEN


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    for method, url, data in page_urls(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response.url.startswith("/accounts/login/"), url
    unchanged(world)


@pytest.mark.parametrize("citizen", ["alice", "bob"])
def test_citizens_get_404_everywhere(client, world, citizen, request):
    client.force_login(request.getfixturevalue(citizen))
    for method, url, data in page_urls(world):
        assert getattr(client, method)(url, data).status_code == 404, url
    unchanged(world)


def test_another_departments_clerk_gets_404_on_this_departments_work(client, world, clerk_b):
    client.force_login(clerk_b)
    for method, url, data in page_urls(world):
        response = getattr(client, method)(url, data, follow=False)
        if url in MEMBER_PAGES:
            assert response.status_code in (200, 302), url
        else:
            assert response.status_code == 404, url
    unchanged(world)


def test_a_clerk_gets_404_on_supervisor_pages(client, world, clerk_a):
    client.force_login(clerk_a)
    assert client.get("/workbench/supervision/").status_code == 404
    assert client.post(f"/workbench/incidents/{world['incident']}/retry/").status_code == 404
    assert client.post(f"/workbench/items/{world['item']}/assign/", {"assignee": clerk_a.pk}).status_code == 404


def test_the_api_refuses_anonymous_callers(world):
    client = APIClient()
    for method, url, data in API_URLS:
        response = getattr(client, method)(url.format(**world), data, format="json")
        assert response.status_code in (401, 403), url
    unchanged(world)


@pytest.mark.parametrize("outsider", ["alice", "bob", "clerk_b"])
def test_the_api_answers_404_to_outsiders(world, outsider, request):
    client = APIClient()
    client.force_authenticate(request.getfixturevalue(outsider))
    for method, url, data in API_URLS:
        response = getattr(client, method)(url.format(**world), data, format="json")
        if url == "/api/workbench/items/" and outsider == "clerk_b":
            assert response.status_code == 200 and response.json()["results"] == []
        else:
            assert response.status_code == 404, (outsider, url)
    unchanged(world)


def test_unknown_ids_are_404_not_500(client, clerk_a, world):
    client.force_login(clerk_a)
    assert client.get("/workbench/items/999999/").status_code == 404
    assert client.post("/workbench/items/999999/claim/").status_code == 404
    assert client.get(f"/workbench/items/{world['item']}/documents/999999/").status_code == 404
