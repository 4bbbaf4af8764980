"""The routing engine in-process (tasks run eagerly after commit, as in the embedded mode):
routes, joins, conditions, decisions, corrections, transfers, withdrawals, incidents, timers."""

import copy
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from accounts.models import Role, VerifiedAttribute
from accounts.tests.factories import MembershipFactory, UserFactory
from documents.models import Certificate
from workflows import clock
from workflows.engine import actions, automatic, timers
from workflows.engine.actions import TransitionRefused
from workflows.models import (
    Application,
    ApplicationEvent,
    Incident,
    OutboxMessage,
    TaxpayerNumber,
    Timer,
    TransferRequest,
    WorkItem,
)
from workflows.outbox import outbox_enqueue
from workflows.tests import engine_handlers  # noqa: F401 - registers the test handlers
from workflows.tests.factories import RESTAURANT_ROUTE, application_submit, departments, published_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def verified_alice(alice):
    VerifiedAttribute.objects.create(
        user=alice, element_key="person.full_name", value=alice.display_name, source="identity"
    )
    return alice


def item(application: Application, key: str) -> WorkItem:
    return WorkItem.objects.filter(application=application, step_key=key).order_by("-round").first()


def statuses(application: Application) -> dict[str, str]:
    return {wi.step_key: wi.status for wi in WorkItem.objects.filter(application=application).order_by("round")}


def approve(application: Application, key: str, clerk) -> None:
    work = item(application, key)
    actions.work_item_claim(work_item_id=work.pk, clerk=clerk)
    actions.work_item_decide(work_item_id=work.pk, actor=clerk, decision="approved")


def test_the_restaurant_route_runs_end_to_end(verified_alice, clerk_a):
    version = published_version()
    application = application_submit(applicant=verified_alice, version=version)
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS
    # The identity check ran automatically; the licence review waits for a clerk.
    assert statuses(application) == {"identity": "done", "licence": "open"}
    approve(application, "licence", clerk_a)
    # Food, fire and tax are parallel after the licence; fire is not needed for 120 m²; tax ran.
    assert statuses(application) == {
        "identity": "done", "licence": "done", "food": "open", "fire": "skipped", "tax": "done",
    }  # fmt: skip
    assert item(application, "issue") is None  # the join waits for the food review
    approve(application, "food", clerk_a)
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    issue = item(application, "issue")
    assert issue.status == WorkItem.Status.DONE
    assert issue.opened_at >= item(application, "food").finished_at  # the issue step ran last
    certificate = Certificate.objects.get(application_number=application.number)
    assert certificate.document.owner == verified_alice
    assert TaxpayerNumber.objects.filter(application=application).count() == 1
    kinds = list(ApplicationEvent.objects.filter(application=application).values_list("kind", flat=True))
    assert kinds[0] == "routing_started" and kinds[-1] == "application_approved"
    assert "step_skipped" in kinds


def test_a_large_restaurant_needs_the_fire_review_and_the_join_waits_for_it(verified_alice, clerk_a, clerk_b):
    application = application_submit(
        applicant=verified_alice, version=published_version(), data={"business.floor_area_m2": 450}
    )
    approve(application, "licence", clerk_a)
    assert statuses(application)["fire"] == "open"
    assert statuses(application)["food"] == "open"
    approve(application, "food", clerk_a)
    assert item(application, "issue") is None
    approve(application, "fire", clerk_b)
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED


def test_a_rejected_step_rejects_the_application_and_cancels_the_others(verified_alice, clerk_a, clerk_b):
    application = application_submit(
        applicant=verified_alice, version=published_version(), data={"business.floor_area_m2": 450}
    )
    approve(application, "licence", clerk_a)
    fire = item(application, "fire")
    actions.work_item_claim(work_item_id=fire.pk, clerk=clerk_b)
    with pytest.raises(TransitionRefused, match="at least one reason"):
        actions.work_item_decide(work_item_id=fire.pk, actor=clerk_b, decision="rejected")
    actions.work_item_decide(work_item_id=fire.pk, actor=clerk_b, decision="rejected", reasons=["No fire exits"])
    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert statuses(application)["food"] == "cancelled"
    assert not Timer.objects.filter(application=application, fired_at=None, cancelled_at=None).exists()
    assert not WorkItem.objects.filter(application=application, warning_at__isnull=False).exists()
    assert not WorkItem.objects.filter(application=application, escalate_at__isnull=False).exists()
    assert ApplicationEvent.objects.filter(application=application, kind="application_rejected").get().reason == (
        "No fire exits"
    )
    with pytest.raises(TransitionRefused, match="already rejected"):
        actions.application_withdraw(application_id=application.pk, applicant=verified_alice)


def test_on_reject_continue_lets_the_other_steps_go_on(verified_alice, clerk_a):
    route = {
        "steps": [
            {"key": "a", "department": "market", "kind": "review"},
            {"key": "b", "department": "market", "kind": "review", "on_reject": "continue"},
        ]
    }
    application = application_submit(applicant=verified_alice, version=published_version(route=route))
    b = item(application, "b")
    actions.work_item_claim(work_item_id=b.pk, clerk=clerk_a)
    actions.work_item_decide(work_item_id=b.pk, actor=clerk_a, decision="rejected", reasons=["Optional part refused"])
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS
    approve(application, "a", clerk_a)
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED


def test_only_the_assignee_decides_and_only_members_claim(verified_alice, clerk_a, clerk_b, bob):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    with pytest.raises(TransitionRefused, match="another department"):
        actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_b)
    with pytest.raises(TransitionRefused, match="claimed"):
        actions.work_item_decide(work_item_id=licence.pk, actor=clerk_a, decision="approved")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    other = MembershipFactory(user=UserFactory(username="clerk.a2"), department=licence.department).user
    with pytest.raises(TransitionRefused, match="Already taken by"):
        actions.work_item_claim(work_item_id=licence.pk, clerk=other)
    for stranger in (other, clerk_b, bob):
        with pytest.raises(TransitionRefused):
            actions.work_item_decide(work_item_id=licence.pk, actor=stranger, decision="approved")
    assert item(application, "licence").status == WorkItem.Status.CLAIMED


def test_identity_check_rejects_a_bad_id_number_or_a_name_mismatch_with_a_reason(verified_alice):
    version = published_version()
    bad_id = application_submit(
        applicant=verified_alice, version=version, data={"person.id_number": "110105194912310021"}
    )
    wrong_name = application_submit(applicant=verified_alice, version=version, data={"person.full_name": "Mallory"})
    for application, words in ((bad_id, "not valid"), (wrong_name, "verified name")):
        application.refresh_from_db()
        assert application.status == Application.Status.REJECTED
        identity = item(application, "identity")
        assert identity.decision == WorkItem.Decision.REJECTED
        assert any(words in reason for reason in identity.decision_reasons)


def test_a_correction_stops_the_clock_and_resumes_with_the_same_clerk(verified_alice, clerk_a):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    with pytest.raises(TransitionRefused, match="at least one"):
        actions.correction_request(work_item_id=licence.pk, actor=clerk_a, fields=[], materials=[], message="x")
    actions.correction_request(
        work_item_id=licence.pk,
        actor=clerk_a,
        fields=["business.name"],
        materials=[],
        message="Use the registered name",
    )
    application.refresh_from_db()
    licence.refresh_from_db()
    assert application.status == Application.Status.AWAITING_APPLICANT
    assert licence.status == WorkItem.Status.WAITING and licence.clock_stopped_at is not None
    assert Timer.objects.filter(work_item=licence, kind=Timer.Kind.CORRECTION_DEADLINE, cancelled_at=None).exists()
    assert licence.warning_at is None and licence.escalate_at is None  # the clock stopped: no deadline to watch
    # The clock stood still for two working days (pretend it stopped earlier).
    stopped = timezone.now() - timedelta(days=7)
    WorkItem.objects.filter(pk=licence.pk).update(clock_stopped_at=stopped)
    due_before = licence.statutory_due_at
    with pytest.raises(TransitionRefused, match="Only what the department asked"):
        actions.correction_submit(
            application_id=application.pk, applicant=verified_alice,
            data={"business.name": "Noodle House Ltd", "person.full_name": "Eve"}, documents={},
        )  # fmt: skip
    with pytest.raises(TransitionRefused):
        actions.correction_submit(application_id=application.pk, applicant=UserFactory(), data={}, documents={})
    actions.correction_submit(
        application_id=application.pk,
        applicant=verified_alice,
        data={"business.name": "Noodle House Ltd"},
        documents={},
    )
    application.refresh_from_db()
    licence.refresh_from_db()
    assert application.status == Application.Status.IN_PROGRESS
    assert application.data["business.name"] == "Noodle House Ltd"
    assert licence.status == WorkItem.Status.CLAIMED and licence.assignee == clerk_a
    assert licence.clock_stopped_at is None
    stood_still = clock.working_seconds_between(stopped, timezone.now())
    expected = clock.add_working_seconds(due_before, stood_still)
    assert abs((licence.statutory_due_at - expected).total_seconds()) < 5
    assert licence.statutory_due_at - due_before >= timedelta(days=5)  # 5 working days of a 7-day week
    assert licence.warning_at < licence.escalate_at == licence.statutory_due_at  # watched again, to the new due time
    with pytest.raises(TransitionRefused, match="only once"):
        actions.correction_request(
            work_item_id=licence.pk, actor=clerk_a, fields=["business.name"], materials=[], message="again"
        )


@pytest.mark.usefixtures("frozen_now")
def test_an_unanswered_correction_rejects_the_application_at_its_deadline(verified_alice, clerk_a):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    actions.correction_request(
        work_item_id=licence.pk, actor=clerk_a, fields=["business.name"], materials=[], message="Fix the name"
    )
    deadline = Timer.objects.get(work_item=licence, kind=Timer.Kind.CORRECTION_DEADLINE)
    assert timers.timers_fire(now=deadline.fire_at + timedelta(seconds=1)) == 2  # reminder and deadline
    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED


@pytest.mark.usefixtures("frozen_now")
def test_an_overdue_step_is_escalated_once(verified_alice, clerk_a):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    later = licence.statutory_due_at + timedelta(seconds=1)
    assert timers.timers_fire(now=later) == 2  # warning, then escalation
    assert timers.timers_fire(now=later) == 0
    licence.refresh_from_db()
    assert licence.escalated_at is not None
    assert actions.application_route_state(application)[1]["escalated"] is True


@pytest.mark.usefixtures("frozen_now")
def test_withdrawal_cancels_open_work_and_timers(verified_alice, bob):
    application = application_submit(applicant=verified_alice, version=published_version())
    with pytest.raises(TransitionRefused, match="does not exist"):
        actions.application_withdraw(application_id=application.pk, applicant=bob)
    actions.application_withdraw(application_id=application.pk, applicant=verified_alice)
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    assert item(application, "licence").status == WorkItem.Status.CANCELLED
    assert not Timer.objects.filter(application=application, fired_at=None, cancelled_at=None).exists()
    assert not WorkItem.objects.filter(application=application, warning_at__isnull=False).exists()
    assert not WorkItem.objects.filter(application=application, escalate_at__isnull=False).exists()


def transferable_route(*targets: str) -> dict:
    """The restaurant route, with the licence review transferable to `targets` without approval."""
    route = copy.deepcopy(RESTAURANT_ROUTE)
    next(step for step in route["steps"] if step["key"] == "licence")["transfer_to"] = list(targets)
    return route


def test_a_transfer_opens_a_new_round_in_the_other_department(verified_alice, clerk_a, clerk_b):
    application = application_submit(
        applicant=verified_alice, version=published_version(route=transferable_route("fire"))
    )
    licence = item(application, "licence")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    with pytest.raises(TransitionRefused, match="why"):
        actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="")
    with pytest.raises(TransitionRefused):
        actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_b, department="fire", reason="mine")
    moved = actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="Fire asks")
    assert moved.round == 2 and moved.department.code == "fire" and moved.status == WorkItem.Status.OPEN
    assert moved.statutory_due_at == licence.statutory_due_at
    assert WorkItem.objects.get(pk=licence.pk).status == WorkItem.Status.CANCELLED
    approve(application, "licence", clerk_b)
    assert statuses(application)["food"] == "open"


def test_a_transfer_the_route_does_not_name_waits_for_a_supervisor(verified_alice, clerk_a, clerk_b, supervisor):
    application = application_submit(applicant=verified_alice, version=published_version())  # no transfer_to
    licence = item(application, "licence")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    events_before = ApplicationEvent.objects.filter(application=application).count()

    request = actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="Fire asks")
    assert isinstance(request, TransferRequest) and request.status == TransferRequest.Status.PENDING
    licence.refresh_from_db()
    assert licence.status == WorkItem.Status.CLAIMED and licence.assignee == clerk_a  # still the clerk's
    assert statuses(application)["licence"] == WorkItem.Status.CLAIMED
    assert ApplicationEvent.objects.filter(application=application).count() == events_before + 1
    with pytest.raises(TransitionRefused, match="already waiting"):
        actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="Again")

    # Only a supervisor of the step's department decides: not the clerk, not fire's people.
    fire_supervisor = MembershipFactory(department__code="fire", role=Role.SUPERVISOR).user
    for outsider in (clerk_a, clerk_b, fire_supervisor):
        with pytest.raises(TransitionRefused, match="supervisor of the step's department"):
            actions.transfer_request_decide(request_id=request.pk, actor=outsider, approve=True)
    with pytest.raises(TransitionRefused, match="Say why"):
        actions.transfer_request_decide(request_id=request.pk, actor=supervisor, approve=False)
    assert TransferRequest.objects.get(pk=request.pk).status == TransferRequest.Status.PENDING

    declined = actions.transfer_request_decide(request_id=request.pk, actor=supervisor, approve=False, note="Ours")
    assert declined.status == TransferRequest.Status.DECLINED and declined.decided_by == supervisor
    assert item(application, "licence").status == WorkItem.Status.CLAIMED
    with pytest.raises(TransitionRefused, match="already been decided"):
        actions.transfer_request_decide(request_id=request.pk, actor=supervisor, approve=True)

    second = actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="Really fire")
    approved = actions.transfer_request_decide(request_id=second.pk, actor=supervisor, approve=True)
    assert approved.status == TransferRequest.Status.APPROVED
    moved = item(application, "licence")
    assert moved.round == 2 and moved.department.code == "fire" and moved.status == WorkItem.Status.OPEN
    assert moved.statutory_due_at == licence.statutory_due_at
    transferred = ApplicationEvent.objects.get(application=application, kind="step_transferred")
    assert transferred.actor == supervisor and transferred.reason == "Really fire"


def test_a_supervisors_own_transfer_settles_a_waiting_request(verified_alice, clerk_a, supervisor):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    request = actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="Fire?")
    actions.work_item_transfer(work_item_id=licence.pk, actor=supervisor, department="tax", reason="Tax, in fact")
    request.refresh_from_db()
    assert request.status == TransferRequest.Status.LAPSED and request.decided_by == supervisor
    assert item(application, "licence").department.code == "tax"


def test_a_supervisor_transfers_anywhere_without_a_request(verified_alice, supervisor):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    moved = actions.work_item_transfer(work_item_id=licence.pk, actor=supervisor, department="fire", reason="Fire's")
    assert isinstance(moved, WorkItem) and moved.department.code == "fire" and moved.round == 2
    assert not TransferRequest.objects.exists()


def test_a_request_lapses_when_the_step_was_decided_meanwhile(verified_alice, clerk_a, supervisor):
    application = application_submit(applicant=verified_alice, version=published_version())
    licence = item(application, "licence")
    actions.work_item_claim(work_item_id=licence.pk, clerk=clerk_a)
    request = actions.work_item_transfer(work_item_id=licence.pk, actor=clerk_a, department="fire", reason="Fire?")
    actions.work_item_decide(work_item_id=licence.pk, actor=clerk_a, decision="approved")
    lapsed = actions.transfer_request_decide(request_id=request.pk, actor=supervisor, approve=True)
    assert lapsed.status == TransferRequest.Status.LAPSED
    assert not WorkItem.objects.filter(application=application, step_key="licence", round=2).exists()
    assert item(application, "licence").status == WorkItem.Status.DONE


def test_work_items_carry_the_step_name_or_say_what_the_step_does(verified_alice):
    route = transferable_route()
    next(step for step in route["steps"] if step["key"] == "licence").update(label_en="Licence", label_zh="许可")
    application = application_submit(applicant=verified_alice, version=published_version(route=route))
    licence, identity = item(application, "licence"), item(application, "identity")
    assert (licence.label_en, licence.label_zh) == ("Licence", "许可")
    assert identity.label_en.startswith("Automatic check by ") and identity.label_en != "identity"
    assert identity.label_zh and identity.label_zh != identity.label_en
    with translation.override("zh-hans"):
        assert licence.step_label == "许可"


def test_a_failing_automatic_step_becomes_an_incident_the_supervisor_handles(verified_alice, supervisor, clerk_a, bob):
    departments()
    MembershipFactory(user=supervisor, department__code="tax", role=Role.SUPERVISOR)
    route = {"steps": [{"key": "tax", "department": "tax", "kind": "automatic", "handler": "test.flaky",
                        "options": {"fail_times": 5}}]}  # fmt: skip
    application = application_submit(applicant=verified_alice, version=published_version(route=route))
    tax = item(application, "tax")
    assert tax.status == WorkItem.Status.FAILED and tax.attempts == 5
    assert [s["status_label"] for s in actions.application_route_state(application)] == ["Delayed — being handled"]
    incident = Incident.objects.get(work_item=tax)
    for stranger in (clerk_a, bob):
        with pytest.raises(TransitionRefused, match="supervisor"):
            actions.incident_retry(incident_id=incident.pk, actor=stranger)
    actions.incident_retry(incident_id=incident.pk, actor=supervisor, note="System is back")
    application.refresh_from_db()
    # Retried with fresh attempts: fails 5 more times (attempts restart at 0, fail_times=5).
    assert item(application, "tax").status == WorkItem.Status.FAILED
    second = Incident.objects.filter(work_item=tax, status=Incident.Status.OPEN).get()
    actions.incident_skip(incident_id=second.pk, actor=supervisor, note="Registered by phone")
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    with pytest.raises(TransitionRefused, match="already been handled"):
        actions.incident_cancel(incident_id=second.pk, actor=supervisor)


def test_cancelling_an_incident_rejects_the_application_with_the_reason(verified_alice, supervisor):
    departments()
    MembershipFactory(user=supervisor, department__code="tax", role=Role.SUPERVISOR)
    route = {"steps": [{"key": "tax", "department": "tax", "kind": "automatic", "handler": "test.flaky"}]}
    application = application_submit(applicant=verified_alice, version=published_version(route=route))
    incident = Incident.objects.get(work_item__application=application)
    actions.incident_cancel(incident_id=incident.pk, actor=supervisor, note="Not a taxable activity")
    application.refresh_from_db()
    assert application.status == Application.Status.REJECTED
    assert application.events.get(kind="application_rejected").reason == "Not a taxable activity"


def test_the_same_task_delivered_twice_makes_one_transition_and_one_number(verified_alice):
    route = {"steps": [{"key": "tax", "department": "tax", "kind": "automatic", "handler": "tax.register"}]}
    application = application_submit(applicant=verified_alice, version=published_version(route=route), start=False)
    actions.application_start(application_id=application.pk)  # outside on_commit delivery: sent once here
    tax = item(application, "tax")
    from workflows.engine.tasks import step_run

    for _ in range(3):
        step_run.apply(kwargs={"work_item_id": tax.pk})
    actions.application_start(application_id=application.pk)  # the start task redelivered too
    assert TaxpayerNumber.objects.filter(application=application).count() == 1
    assert ApplicationEvent.objects.filter(application=application, kind="step_completed").count() == 1
    assert ApplicationEvent.objects.filter(application=application, kind="routing_started").count() == 1
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED


def test_the_last_two_parallel_steps_completed_at_once_open_the_join_exactly_once(verified_alice, clerk_a):
    route = {
        "steps": [
            {"key": "a", "department": "market", "kind": "review"},
            {"key": "b", "department": "market", "kind": "review"},
            {"key": "c", "department": "market", "kind": "review", "after": ["a", "b"]},
        ]
    }
    other = MembershipFactory(
        user=UserFactory(username="clerk.a3"), department=clerk_a.memberships.get().department
    ).user
    for _attempt in range(5):
        application = application_submit(applicant=verified_alice, version=published_version(route=route))
        a, b = item(application, "a"), item(application, "b")
        actions.work_item_claim(work_item_id=a.pk, clerk=clerk_a)
        actions.work_item_claim(work_item_id=b.pk, clerk=other)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def decide(work_item_id, actor, barrier=barrier, errors=errors):
            try:
                barrier.wait(5)
                actions.work_item_decide(work_item_id=work_item_id, actor=actor, decision="approved")
            except BaseException as exc:
                errors.append(exc)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=decide, args=(a.pk, clerk_a)),
            threading.Thread(target=decide, args=(b.pk, other)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert not errors
        assert WorkItem.objects.filter(application=application, step_key="c").count() == 1
        assert (
            ApplicationEvent.objects.filter(
                application=application, kind="step_opened", work_item__step_key="c"
            ).count()
            == 1
        )


def test_a_rolled_back_transaction_sends_nothing(verified_alice):
    before = OutboxMessage.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(task="workflows.application_start", kwargs={"application_id": 999999})
        outbox_enqueue(task="workflows.outbox_relay", kwargs={})
        raise RuntimeError("the submit failed after writing its outbox rows")
    assert OutboxMessage.objects.count() == before


def test_a_stalled_automatic_step_is_dispatched_again(verified_alice):
    route = {"steps": [{"key": "tax", "department": "tax", "kind": "automatic", "handler": "tax.register"}]}
    application = application_submit(applicant=verified_alice, version=published_version(route=route), start=False)
    with transaction.atomic():
        # Start without sending anything: as if the message was lost with its worker.
        from workflows.engine import routing

        routing.application_begin_locked(routing.application_lock(application.pk))
        OutboxMessage.objects.filter(
            task="workflows.step_run", kwargs__work_item_id=item(application, "tax").pk
        ).update(confirmed_at=timezone.now())
        # The sends after commit are lost too (the worker took the message and died).
        transaction.get_connection().run_on_commit.clear()
    assert item(application, "tax").status == WorkItem.Status.OPEN
    assert automatic.stalled_steps_recover(stale_seconds=60) == 0  # not stale yet
    WorkItem.objects.filter(application=application).update(updated_at=timezone.now() - timedelta(hours=1))
    assert automatic.stalled_steps_recover(stale_seconds=60) == 1
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert TaxpayerNumber.objects.filter(application=application).count() == 1


def test_a_running_application_keeps_the_route_of_its_version(verified_alice, clerk_a):
    first = published_version(code="versioned")
    application = application_submit(applicant=verified_alice, version=first)
    second = published_version(
        code="versioned", route={"steps": [{"key": "only", "department": "market", "kind": "review"}]}
    )
    assert second.service_id == first.service_id and second.pk != first.pk
    approve(application, "licence", clerk_a)
    assert "food" in statuses(application) and "only" not in statuses(application)
    newer = application_submit(applicant=verified_alice, version=second)
    assert set(statuses(newer)) == {"only"}
