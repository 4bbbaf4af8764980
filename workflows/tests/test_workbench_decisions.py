"""Decisions from the work item page, all through the engine: approve, reject with reasons,
request a correction once, transfer — and the refusals that change nothing."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from documents.actions import document_issue
from workflows import clock
from workflows.engine.actions import application_withdraw, correction_submit, work_item_claim, work_item_decide
from workflows.engine.errors import TransitionRefused
from workflows.models import Application, ApplicationEvent, TransferRequest, WorkItem
from workflows.tests.factories import supporting_type
from workflows.tests.test_workbench_support import PARALLEL, make_pdf, routed_application, step, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(alice, department_a, department_b):
    return routed_application(applicant=alice, version=version_with())


@pytest.fixture
def claimed(client, clerk_a, application):
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    client.force_login(clerk_a)
    return item


def events(application) -> int:
    return ApplicationEvent.objects.filter(application=application).count()


def test_approving_the_only_step_approves_the_application(client, claimed, application):
    response = client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "approved"}, follow=True)
    assert f"You approved {application.number}." in response.content.decode()
    application.refresh_from_db()
    claimed.refresh_from_db()
    assert claimed.status == WorkItem.Status.DONE and claimed.decision == "approved"
    assert application.status == Application.Status.APPROVED


def test_a_rejection_without_a_reason_is_refused_and_nothing_changes(client, claimed, application):
    before = events(application)
    response = client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "rejected", "note": "no"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Give at least one reason for the rejection" in body
    assert "There is a problem" in body
    assert "no</textarea>" in body  # what was typed is kept
    claimed.refresh_from_db()
    assert claimed.status == WorkItem.Status.CLAIMED
    assert events(application) == before


def test_a_rejection_gives_the_applicant_the_picked_and_written_reasons(client, claimed, application):
    client.post(
        f"/workbench/items/{claimed.pk}/decide/",
        {"decision": "rejected", "reasons": ["lease"], "other_reason": "The floor plan is missing."},
    )
    application.refresh_from_db()
    claimed.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert claimed.decision_reasons == ["The lease does not cover the premises", "The floor plan is missing."]


def test_a_correction_request_with_nothing_picked_is_refused(client, claimed, application):
    before = events(application)
    response = client.post(f"/workbench/items/{claimed.pk}/correction/", {"message": "Please fix"})
    assert response.status_code == 400
    assert "Choose at least one answer or document" in response.content.decode()
    assert "Please fix</textarea>" in response.content.decode()
    assert events(application) == before


def test_correction_round_trip_the_clock_stops_and_resumes(client, alice, claimed, application):
    due_before = claimed.statutory_due_at
    response = client.post(
        f"/workbench/items/{claimed.pk}/correction/",
        {"fields_to_correct": ["business.name"], "materials": ["lease-contract"], "message": "Name as on the lease."},
        follow=True,
    )
    assert "The statutory clock is stopped" in response.content.decode()
    claimed.refresh_from_db()
    application.refresh_from_db()
    assert claimed.status == WorkItem.Status.WAITING and claimed.clock_stopped_at is not None
    assert application.status == Application.Status.AWAITING_APPLICANT
    assert claimed.correction["fields"] == ["business.name"]

    # Asked once per step: a second request is refused (the form is not even offered).
    body = client.get(f"/workbench/items/{claimed.pk}/").content.decode()
    assert "Send the correction request" not in body
    assert "Name as on the lease." in body

    lease = document_issue(owner=alice, document_type=supporting_type(), content=make_pdf("v2"), display_name="l.pdf")
    stopped_at = claimed.clock_stopped_at
    correction_submit(
        application_id=application.pk,
        applicant=alice,
        data={"business.name": "Noodle House Ltd"},
        documents={"lease-contract": lease.pk},
    )
    claimed.refresh_from_db()
    application.refresh_from_db()
    assert claimed.status == WorkItem.Status.CLAIMED  # back with the same clerk
    assert application.status == Application.Status.IN_PROGRESS
    assert application.data["business.name"] == "Noodle House Ltd"
    expected = clock.resume_due_at(due_before, stopped_at=stopped_at, resumed_at=timezone.now())
    assert abs((claimed.statutory_due_at - expected).total_seconds()) < 5
    assert claimed.statutory_due_at >= due_before

    response = client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "approved"})
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED


def test_rejecting_one_parallel_step_cancels_its_siblings(client, alice, clerk_a, clerk_b, department_a):
    application = routed_application(applicant=alice, version=version_with(PARALLEL))
    licence = step(application, "licence")
    work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    client.force_login(clerk_a)
    client.post(f"/workbench/items/{licence.pk}/decide/", {"decision": "approved"})
    food, fire = step(application, "food"), step(application, "fire")
    assert food.status == fire.status == WorkItem.Status.OPEN

    work_item_claim(work_item_id=fire.pk, clerk=clerk_b)
    client.force_login(clerk_b)
    client.post(f"/workbench/items/{fire.pk}/decide/", {"decision": "rejected", "reasons": ["name"]})
    application.refresh_from_db()
    food.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert food.status == WorkItem.Status.CANCELLED


def test_deciding_a_step_someone_else_claimed_is_refused(client, claimed, application, department_a):
    other = MembershipFactory(
        user=UserFactory(username="clerk.a3", display_name="Clerk Three", is_staff=True),
        department=department_a,
        role=Role.CLERK,
    ).user
    client.force_login(other)
    before = events(application)
    response = client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "approved"})
    assert response.status_code == 409
    assert "Only the clerk who has claimed this step" in response.content.decode()
    claimed.refresh_from_db()
    assert claimed.status == WorkItem.Status.CLAIMED and events(application) == before


def test_deciding_twice_is_refused(client, claimed, application):
    client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "approved"})
    before = events(application)
    response = client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "rejected", "reasons": ["lease"]})
    assert response.status_code == 409
    assert "already approved" in response.content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED and events(application) == before


def test_deciding_on_a_withdrawn_application_is_refused(client, alice, claimed, application):
    application_withdraw(application_id=application.pk, applicant=alice)
    before = events(application)
    response = client.post(f"/workbench/items/{claimed.pk}/decide/", {"decision": "approved"})
    assert response.status_code == 409
    assert "already withdrawn" in response.content.decode()
    assert events(application) == before


def test_claiming_a_withdrawn_application_is_refused(client, clerk_a, alice, application):
    item = step(application)
    application_withdraw(application_id=application.pk, applicant=alice)
    client.force_login(clerk_a)
    response = client.post(f"/workbench/items/{item.pk}/claim/", follow=True)
    assert "already withdrawn" in response.content.decode()


@pytest.fixture
def transferable(client, clerk_a, alice, department_a, department_b):
    """An application whose route lets the clerk send its review to department B."""
    route = {"steps": [{"key": "licence", "department": "market", "kind": "review", "sla_days": 5,
                        "transfer_to": [department_b.code]}]}  # fmt: skip
    application = routed_application(applicant=alice, version=version_with(route))
    work_item_claim(work_item_id=step(application).pk, clerk=clerk_a)
    client.force_login(clerk_a)
    return application


def test_transfer_to_a_department_the_route_names(client, transferable, clerk_b, department_b):
    application = transferable
    claimed = step(application)
    page = client.get(f"/workbench/items/{claimed.pk}/").content.decode()
    department_b.refresh_from_db()
    assert f"The route lets you transfer this step to: {department_b.name}" in page
    response = client.post(f"/workbench/items/{claimed.pk}/transfer/", {"department": department_b.pk, "reason": ""})
    assert response.status_code == 400
    assert "Say why the step goes to another department." in response.content.decode()
    client.post(f"/workbench/items/{claimed.pk}/transfer/", {"department": department_b.pk, "reason": "Fire matter"})
    claimed.refresh_from_db()
    assert claimed.status == WorkItem.Status.CANCELLED
    moved = step(application)
    assert moved.department == department_b and moved.round == 2
    client.force_login(clerk_b)
    assert client.get(f"/workbench/items/{moved.pk}/").status_code == 200


def test_a_transfer_elsewhere_waits_for_the_supervisor_who_approves_it(
    client, claimed, application, supervisor, clerk_b, department_b
):
    page = client.get(f"/workbench/items/{claimed.pk}/").content.decode()
    assert "so a transfer needs a supervisor's approval" in page
    response = client.post(
        f"/workbench/items/{claimed.pk}/transfer/",
        {"department": department_b.pk, "reason": "Fire matter"},
        follow=True,
    )
    body = response.content.decode()
    assert "a supervisor must approve the transfer" in body
    assert "The step stays with you until a supervisor decides." in body
    claimed.refresh_from_db()
    assert claimed.status == WorkItem.Status.CLAIMED
    request = TransferRequest.objects.get(work_item=claimed)

    client.force_login(supervisor)
    board = client.get("/workbench/supervision/").content.decode()
    assert "Transfers awaiting your approval" in board and "Fire matter" in board and application.number in board
    response = client.post(f"/workbench/transfer-requests/{request.pk}/", {"decision": "decline"}, follow=True)
    assert "Say why the transfer is declined" in response.content.decode()
    assert TransferRequest.objects.get(pk=request.pk).status == TransferRequest.Status.PENDING
    response = client.post(f"/workbench/transfer-requests/{request.pk}/", {"decision": "approve"}, follow=True)
    department_b.refresh_from_db()
    assert f"{application.number} has been transferred to {department_b.name}." in response.content.decode()
    moved = step(application)
    assert moved.department == department_b and moved.round == 2
    assert "No transfers are waiting for approval." in client.get("/workbench/supervision/").content.decode()


def test_a_declined_transfer_tells_the_clerk_why(client, claimed, supervisor, clerk_a, department_b):
    client.post(f"/workbench/items/{claimed.pk}/transfer/", {"department": department_b.pk, "reason": "Not ours"})
    request = TransferRequest.objects.get(work_item=claimed)
    client.force_login(supervisor)
    client.post(f"/workbench/transfer-requests/{request.pk}/", {"decision": "decline", "note": "It is ours: go on."})
    client.force_login(clerk_a)
    page = client.get(f"/workbench/items/{claimed.pk}/").content.decode()
    assert "Supervisor A declined the transfer to" in page and "It is ours: go on." in page
    assert "Transfer declined by a supervisor" in page  # the history


def test_outsiders_cannot_decide_a_transfer_request(client, claimed, clerk_a, clerk_b, alice, department_b):
    client.post(f"/workbench/items/{claimed.pk}/transfer/", {"department": department_b.pk, "reason": "Fire matter"})
    request = TransferRequest.objects.get(work_item=claimed)
    fire_supervisor = MembershipFactory(
        user=UserFactory(username="supervisor.b", is_staff=True), department=department_b, role=Role.SUPERVISOR
    ).user
    for outsider in (clerk_a, clerk_b, alice, fire_supervisor):
        client.force_login(outsider)
        response = client.post(f"/workbench/transfer-requests/{request.pk}/", {"decision": "approve"})
        assert response.status_code == 404, outsider
    assert TransferRequest.objects.get(pk=request.pk).status == TransferRequest.Status.PENDING
    assert step(claimed.application) == claimed


# The final step opens when the market's licence is approved; the fire check runs beside both.
LICENCE_THEN_FINAL: dict = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5},
        {"key": "fire", "department": "fire", "kind": "review", "sla_days": 5},
        {"key": "final", "department": "market", "kind": "review", "sla_days": 3, "after": ["licence"]},
    ]
}


@pytest.mark.django_db(transaction=True)
def test_a_decision_that_waited_for_the_lock_sees_the_step_the_other_one_opened(alice, clerk_a, clerk_b):
    """Two decisions on one application at once: the second waits for the first's lock, then
    reads the application's work items after it, so it does not open the final step again."""
    application = routed_application(applicant=alice, version=version_with(LICENCE_THEN_FINAL))
    licence, fire = step(application, "licence"), step(application, "fire")
    work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    work_item_claim(work_item_id=fire.pk, clerk=clerk_b)
    outcome: list[str] = []

    def decide_fire() -> None:
        try:
            work_item_decide(work_item_id=fire.pk, actor=clerk_b, decision="approved")
            outcome.append("decided")
        except Exception as exc:  # reported by the assertion below
            outcome.append(repr(exc))
        finally:
            connection.close()

    other = threading.Thread(target=decide_fire)
    with transaction.atomic():
        work_item_decide(work_item_id=licence.pk, actor=clerk_a, decision="approved")  # opens the final step
        other.start()
        other.join(1)
        assert other.is_alive() and outcome == [], "the second decision waits for the application's lock"
    other.join(20)
    assert outcome == ["decided"]
    finals = WorkItem.objects.filter(application=application, step_key="final")
    assert list(finals.values_list("status", flat=True)) == [WorkItem.Status.OPEN]
    opened = ApplicationEvent.objects.filter(application=application, kind="step_opened", work_item__step_key="final")
    assert opened.count() == 1
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS


def test_a_decision_that_is_not_one_is_refused_after_the_other_refusals(claimed, clerk_a, clerk_b):
    with pytest.raises(TransitionRefused, match="Only the clerk who has claimed"):
        work_item_decide(work_item_id=claimed.pk, actor=clerk_b, decision="maybe")
    with pytest.raises(TransitionRefused, match="Choose whether to approve or reject"):
        work_item_decide(work_item_id=claimed.pk, actor=clerk_a, decision="maybe")
    with pytest.raises(TransitionRefused, match="at least one reason"):
        work_item_decide(work_item_id=claimed.pk, actor=clerk_a, decision="rejected", reasons=[" "])
    claimed.refresh_from_db()
    assert claimed.status == WorkItem.Status.CLAIMED
