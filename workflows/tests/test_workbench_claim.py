"""Claim, release, assign: conditional updates, one winner, clear messages, htmx rows."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.tests.factories import MembershipFactory, UserFactory
from workflows.engine.actions import work_item_assign, work_item_claim, work_item_release
from workflows.engine.errors import TransitionRefused
from workflows.models import Application, ApplicationEvent, WorkItem
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(department_a, department_b):
    return version_with()


@pytest.fixture
def item(alice, version) -> WorkItem:
    return step(routed_application(applicant=alice, version=version))


@pytest.fixture
def clerk_a2(department_a):
    return MembershipFactory(
        user=UserFactory(username="clerk.a2", display_name="Clerk Two", is_staff=True),
        department=department_a,
        role=Role.CLERK,
    ).user


def test_claiming_makes_the_step_mine_and_writes_an_event(clerk_a, item):
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    item.refresh_from_db()
    assert (item.status, item.assignee) == (WorkItem.Status.CLAIMED, clerk_a)
    assert ApplicationEvent.objects.filter(work_item=item, kind="step_claimed", actor=clerk_a).count() == 1


def test_the_second_clerk_is_told_who_has_it(clerk_a, clerk_a2, item):
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    with pytest.raises(TransitionRefused, match="Already taken by Clerk A"):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a2)
    item.refresh_from_db()
    assert item.assignee == clerk_a


def test_a_clerk_of_another_department_cannot_claim(clerk_b, item):
    with pytest.raises(TransitionRefused):
        work_item_claim(work_item_id=item.pk, clerk=clerk_b)
    item.refresh_from_db()
    assert item.assignee is None and item.status == WorkItem.Status.OPEN


@pytest.mark.django_db(transaction=True)
def test_two_clerks_claiming_at_once_one_wins(clerk_a, clerk_a2, item):
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(clerk) -> None:
        try:
            barrier.wait(5)
            work_item_claim(work_item_id=item.pk, clerk=clerk)
            outcomes[clerk.username] = "won"
        except TransitionRefused as refused:
            outcomes[clerk.username] = refused.message
        finally:
            connection.close()

    for _round in range(5):
        WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.OPEN, assignee=None)
        outcomes.clear()
        threads = [threading.Thread(target=attempt, args=(clerk,)) for clerk in (clerk_a, clerk_a2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        winners = [name for name, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        loser = next(name for name in outcomes if name not in winners)
        winner_name = "Clerk A" if winners[0] == "clerk.a" else "Clerk Two"
        assert outcomes[loser] == f"Already taken by {winner_name}."
        item.refresh_from_db()
        assert item.assignee.username == winners[0]


def test_each_refused_claim_says_why_and_changes_nothing(clerk_a, clerk_a2, item):
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    with pytest.raises(TransitionRefused, match="You have already claimed this step"):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.DONE, assignee=None)
    with pytest.raises(TransitionRefused, match="no longer open"):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a2)
    WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.OPEN, kind=WorkItem.Kind.AUTOMATIC)
    with pytest.raises(TransitionRefused, match="done automatically"):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a2)
    WorkItem.objects.filter(pk=item.pk).update(kind=WorkItem.Kind.REVIEW)
    Application.objects.filter(pk=item.application_id).update(status=Application.Status.WITHDRAWN)
    with pytest.raises(TransitionRefused, match="is already withdrawn"):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a2)
    with pytest.raises(TransitionRefused, match="This work item does not exist"):
        work_item_claim(work_item_id=item.pk + 10_000, clerk=clerk_a2)
    item.refresh_from_db()
    assert (item.status, item.assignee) == (WorkItem.Status.OPEN, None)
    assert ApplicationEvent.objects.filter(work_item=item, kind="step_claimed").count() == 1


def test_a_suspended_clerk_cannot_claim(clerk_a, item):
    Membership.all_objects.filter(user=clerk_a).update(suspended_at=timezone.now())
    with pytest.raises(TransitionRefused, match="another department"):
        work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    item.refresh_from_db()
    assert item.assignee is None


def _claim_while_the_application_is_locked(item, clerk, change) -> str:
    """Another transaction holds the application's lock and makes `change`; the claim, started
    meanwhile, must wait for it and then answer from what it committed."""
    outcome: list[str] = []

    def attempt() -> None:
        try:
            work_item_claim(work_item_id=item.pk, clerk=clerk)
            outcome.append("won")
        except TransitionRefused as refused:
            outcome.append(refused.message)
        finally:
            connection.close()

    claimer = threading.Thread(target=attempt)
    with transaction.atomic():
        Application.objects.select_for_update().get(pk=item.application_id)
        change()
        claimer.start()
        claimer.join(1)
        assert claimer.is_alive() and outcome == [], "the claim waits for the application's lock"
    claimer.join(20)
    return outcome[0]


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_waited_for_the_lock_loses_to_the_claim_that_held_it(clerk_a, clerk_a2, item):
    def claimed_by_the_other_clerk() -> None:
        WorkItem.objects.filter(pk=item.pk).update(status=WorkItem.Status.CLAIMED, assignee=clerk_a2)

    assert _claim_while_the_application_is_locked(item, clerk_a, claimed_by_the_other_clerk) == (
        "Already taken by Clerk Two."
    )
    item.refresh_from_db()
    assert item.assignee == clerk_a2
    assert not ApplicationEvent.objects.filter(work_item=item, kind="step_claimed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_waited_for_the_lock_sees_the_application_withdrawn(clerk_a, item):
    def withdrawn() -> None:
        Application.objects.filter(pk=item.application_id).update(status=Application.Status.WITHDRAWN)

    outcome = _claim_while_the_application_is_locked(item, clerk_a, withdrawn)
    assert "is already withdrawn" in outcome
    item.refresh_from_db()
    assert (item.status, item.assignee) == (WorkItem.Status.OPEN, None)


def test_release_puts_it_back_only_for_the_assignee(clerk_a, clerk_a2, item):
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    with pytest.raises(TransitionRefused):
        work_item_release(work_item_id=item.pk, clerk=clerk_a2)
    work_item_release(work_item_id=item.pk, clerk=clerk_a)
    item.refresh_from_db()
    assert (item.status, item.assignee) == (WorkItem.Status.OPEN, None)


def test_a_supervisor_assigns_and_reassigns(supervisor, clerk_a, clerk_a2, clerk_b, item):
    work_item_assign(work_item_id=item.pk, supervisor=supervisor, assignee=clerk_a)
    item.refresh_from_db()
    assert item.assignee == clerk_a
    work_item_assign(work_item_id=item.pk, supervisor=supervisor, assignee=clerk_a2)
    item.refresh_from_db()
    assert item.assignee == clerk_a2
    kinds = list(ApplicationEvent.objects.filter(work_item=item).values_list("kind", flat=True))
    assert kinds[-2:] == ["step_assigned", "step_reassigned"]
    with pytest.raises(TransitionRefused, match="does not work in this department"):
        work_item_assign(work_item_id=item.pk, supervisor=supervisor, assignee=clerk_b)


def test_a_clerk_cannot_assign(clerk_a, clerk_a2, item):
    with pytest.raises(TransitionRefused, match="Only a supervisor"):
        work_item_assign(work_item_id=item.pk, supervisor=clerk_a, assignee=clerk_a2)


def test_claiming_with_htmx_returns_the_updated_row(client, clerk_a, item):
    client.force_login(clerk_a)
    response = client.post(f"/workbench/items/{item.pk}/claim/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr class="govuk-table__row" id="item-{item.pk}"')
    assert "You have claimed" in body
    assert "Release" in body
    assert "<html" not in body


def test_losing_a_claim_with_htmx_says_who_has_it(client, clerk_a, clerk_a2, item):
    work_item_claim(work_item_id=item.pk, clerk=clerk_a2)
    client.force_login(clerk_a)
    body = client.post(f"/workbench/items/{item.pk}/claim/", HTTP_HX_REQUEST="true").content.decode()
    assert "Already taken by Clerk Two." in body


def test_claiming_without_javascript_redirects_to_the_item(client, clerk_a, item):
    client.force_login(clerk_a)
    response = client.post(f"/workbench/items/{item.pk}/claim/")
    assert response.status_code == 302
    assert response.url == f"/workbench/items/{item.pk}/"


def test_bulk_claim_takes_what_is_free_and_reports_the_rest(client, clerk_a, clerk_a2, alice, version):
    items = [step(routed_application(applicant=alice, version=version)) for _ in range(3)]
    work_item_claim(work_item_id=items[0].pk, clerk=clerk_a2)
    client.force_login(clerk_a)
    response = client.post("/workbench/bulk/", {"action": "claim", "items": [i.pk for i in items]}, follow=True)
    body = response.content.decode()
    assert "You have claimed 2." in body
    assert "1 could not be taken: Already taken by Clerk Two." in body
    assert WorkItem.objects.filter(assignee=clerk_a).count() == 2


def test_bulk_assign_by_a_supervisor(client, supervisor, clerk_a2, alice, version):
    items = [step(routed_application(applicant=alice, version=version)) for _ in range(2)]
    client.force_login(supervisor)
    response = client.post(
        "/workbench/bulk/", {"action": "assign", "assignee": clerk_a2.pk, "items": [i.pk for i in items]}, follow=True
    )
    assert "2 assigned to Clerk Two." in response.content.decode()
    assert WorkItem.objects.filter(assignee=clerk_a2).count() == 2


def test_bulk_assign_is_not_for_clerks(client, clerk_a, clerk_a2, item):
    client.force_login(clerk_a)
    client.post("/workbench/bulk/", {"action": "assign", "assignee": clerk_a2.pk, "items": [item.pk]})
    item.refresh_from_db()
    assert item.assignee is None


def test_bulk_claim_ignores_other_departments_items(client, clerk_b, item):
    client.force_login(clerk_b)
    client.post("/workbench/bulk/", {"action": "claim", "items": [item.pk]})
    item.refresh_from_db()
    assert item.assignee is None
