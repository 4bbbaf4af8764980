"""The progress API: my applications with clocks and timeline, notifications, ratings; Bob never
sees Alice's (404 or an empty list)."""

import pytest
from django.db import transaction

from workflows.models import Notification
from workflows.notifications.notify import notify
from workflows.tests.progress_support import ONE_STEP, TWO_DEPARTMENTS, decide, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, django_capture_on_commit_callbacks):
    return submit(django_capture_on_commit_callbacks, applicant=alice, route=TWO_DEPARTMENTS)


def test_my_applications_with_steps_clocks_and_timeline(client, alice, application):
    client.force_login(alice)
    listing = client.get("/api/my/applications/").json()
    assert [row["number"] for row in listing["results"]] == [application.number]
    body = client.get(f"/api/my/applications/{application.number}/").json()
    assert body["status"] == "in_progress"
    licence, fire = body["steps"]
    assert (licence["key"], licence["department"], licence["state"]) == ("licence", "market", "queued")
    assert isinstance(licence["working_days_left"], int) and licence["clock_stopped"] is False
    assert fire["state"] == "not_started"
    assert any("Started: Business licence" in entry["title"] for entry in body["timeline"])


def test_bob_gets_404_or_nothing(client, bob, application):
    with transaction.atomic():
        mine = notify(user=application.applicant, event=Notification.Event.RATING_INVITATION, context={})
    client.force_login(bob)
    assert client.get(f"/api/my/applications/{application.number}/").status_code == 404
    assert client.get("/api/my/applications/").json()["count"] == 0
    assert client.get("/api/notifications/").json()["count"] == 0
    assert client.post(f"/api/notifications/{mine.pk}/read/").status_code == 404
    assert client.get("/api/ratings/").json()["count"] == 0
    assert client.post("/api/ratings/", {"application": application.number, "score": 5}).status_code == 404


def test_anonymous_is_refused(client, application):
    for url in ("/api/my/applications/", "/api/notifications/", "/api/ratings/", "/api/my/access-log/"):
        assert client.get(url).status_code in (401, 403)


def test_notifications_list_and_mark_read(client, alice, application):
    client.force_login(alice)
    body = client.get("/api/notifications/", {"unread": "1"}).json()
    assert body["count"] == 1 and body["results"][0]["event"] == "receipt"
    notification_id = body["results"][0]["id"]
    assert client.post(f"/api/notifications/{notification_id}/read/").json()["read"] is True
    assert client.get("/api/notifications/", {"unread": "1"}).json()["count"] == 0
    assert client.post("/api/notifications/read-all/").json() == {"marked": 0}


def test_rate_through_the_api(client, alice, clerk_a, django_capture_on_commit_callbacks):
    application = submit(django_capture_on_commit_callbacks, applicant=alice, route=ONE_STEP)
    client.force_login(alice)
    early = client.post("/api/ratings/", {"application": application.number, "score": 5})
    assert early.status_code == 400 and "decision" in early.json()["detail"]
    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    assert client.post("/api/ratings/", {"application": application.number, "score": 7}).status_code == 400
    created = client.post("/api/ratings/", {"application": application.number, "score": 2, "comment": "slow"})
    assert created.status_code == 201 and created.json()["follow_up"]["status"] == "open"
    again = client.post("/api/ratings/", {"application": application.number, "score": 3})
    assert again.status_code == 400 and "already" in again.json()["detail"]
    assert client.get("/api/ratings/").json()["count"] == 1


def test_schema_documents_the_endpoints(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/my/applications/", "/api/notifications/", "/api/ratings/", "/api/my/access-log/"):
        assert path in schema
