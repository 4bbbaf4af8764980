"""Supervisors: incidents with retry / skip / cancel, the overdue list, reassignment."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from workflows.engine.actions import work_item_claim
from workflows.models import Application, Incident, OutboxMessage, WorkItem
from workflows.tests.test_workbench_support import routed_application, step, version_with

# Date-sensitive: every test runs at each instant of `frozen_now` (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]

WITH_CHECK = {
    "steps": [
        {"key": "check", "department": "psb", "kind": "automatic", "handler": "psb.verify_identity"},
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "after": ["check"]},
    ]
}


@pytest.fixture
def incident(alice, supervisor, department_a, department_b):
    application = routed_application(applicant=alice, version=version_with(WITH_CHECK))
    item = step(application, "check")
    # The supervisor of market also supervises the identity checks of public security here.
    MembershipFactory(user=supervisor, department=item.department, role=Role.SUPERVISOR)
    WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.FAILED, attempts=5)
    return Incident.objects.create(work_item=item, department=item.department, error="The registry did not answer.")


def test_the_supervisor_sees_open_incidents(client, supervisor, incident):
    client.force_login(supervisor)
    body = client.get("/workbench/supervision/").content.decode()
    assert incident.work_item.application.number in body
    assert "The registry did not answer." in body


def test_skip_lets_the_route_go_on(client, supervisor, incident):
    client.force_login(supervisor)
    response = client.post(f"/workbench/incidents/{incident.pk}/skip/", {"note": "Checked by phone."}, follow=True)
    assert "The step has been skipped" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.SKIPPED and incident.resolved_by == supervisor
    assert step(incident.work_item.application, "licence").status == WorkItem.Status.OPEN


def test_retry_sends_the_step_again(client, supervisor, incident):
    client.force_login(supervisor)
    client.post(f"/workbench/incidents/{incident.pk}/retry/")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RETRIED
    assert OutboxMessage.objects.filter(kwargs__work_item_id=incident.work_item_id).count() >= 1


def test_cancel_rejects_the_application(client, supervisor, incident):
    client.force_login(supervisor)
    client.post(f"/workbench/incidents/{incident.pk}/cancel/", {"note": "Identity could not be verified."})
    application = Application.objects.get(pk=incident.work_item.application_id)
    assert application.status == Application.Status.REJECTED


def test_handling_twice_is_a_clear_refusal(client, supervisor, incident):
    client.force_login(supervisor)
    client.post(f"/workbench/incidents/{incident.pk}/skip/")
    response = client.post(f"/workbench/incidents/{incident.pk}/cancel/", follow=True)
    assert "already been handled" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.SKIPPED


def test_the_overdue_list_shows_only_overdue_work(client, supervisor, alice, department_a, department_b):
    version = version_with()
    late, on_time = (routed_application(applicant=alice, version=version) for _ in range(2))
    WorkItem.objects.filter(pk=step(late).pk).update(statutory_due_at=timezone.now() - datetime.timedelta(days=4))
    client.force_login(supervisor)
    body = client.get("/workbench/supervision/").content.decode()
    assert late.number in body
    assert on_time.number not in body
    assert "overdue" in body


def test_reassigning_from_the_item_page(client, supervisor, clerk_a, alice, department_a, department_b):
    application = routed_application(applicant=alice, version=version_with())
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    client.force_login(supervisor)
    assert "Assign (supervisor)" in client.get(f"/workbench/items/{item.pk}/").content.decode()
    response = client.post(f"/workbench/items/{item.pk}/assign/", {"assignee": supervisor.pk}, follow=True)
    assert "is now with Supervisor A" in response.content.decode()
    item.refresh_from_db()
    assert item.assignee == supervisor


def test_another_departments_supervisor_cannot_touch_the_incident(client, incident, department_b):
    other = MembershipFactory(
        user=UserFactory(username="supervisor.b", is_staff=True), department=department_b, role=Role.SUPERVISOR
    ).user
    client.force_login(other)
    assert incident.work_item.application.number not in client.get("/workbench/supervision/").content.decode()
    assert client.post(f"/workbench/incidents/{incident.pk}/skip/").status_code == 404
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OPEN
