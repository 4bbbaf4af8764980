"""A Hypothesis state machine over random routes and random sequences of decisions,
corrections, withdrawals, deliveries and duplicate deliveries of the engine's tasks.

Deliveries are explicit: the test's transaction never commits, so no outbox row is sent by
itself; a rule picks one and runs its task, another runs an already-run one again.

Invariants after every step:
- no step opens before its `after` steps are finished;
- at most one live work item per (application, step) — across rounds, so also per round;
- a finished application has no live work and no pending timer;
- every state change has exactly one event (each work item's and the application's events
  form an unbroken from → to chain ending in the current status).
"""

import contextlib

import pytest
from celery import current_app
from django.db.models import F
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from accounts.models import Department, Role, User, VerifiedAttribute
from accounts.tests.factories import MembershipFactory, UserFactory
from workflows.engine.actions import (
    TransitionRefused,
    application_withdraw,
    correction_request,
    correction_submit,
    work_item_claim,
    work_item_decide,
)
from workflows.engine.routing import FINISHED_OK
from workflows.models import Application, ApplicationEvent, OutboxMessage, Timer, WorkItem
from workflows.tests.factories import application_submit, departments, published_version


@st.composite
def routes(draw) -> dict:
    count = draw(st.integers(min_value=1, max_value=5))
    steps = []
    for index in range(count):
        key = f"s{index}"
        automatic = draw(st.booleans())
        step: dict = {
            "key": key,
            "department": "tax" if automatic else "market",
            "kind": "automatic" if automatic else "review",
        }
        if automatic:
            step["handler"] = "tax.register"
        if index:
            after = draw(st.lists(st.sampled_from([f"s{i}" for i in range(index)]), unique=True, max_size=2))
            if after:
                step["after"] = after
        if draw(st.integers(0, 3)) == 0:
            step["when"] = {"element": "business.floor_area_m2", "gt": draw(st.sampled_from([100, 300]))}
        if draw(st.integers(0, 3)) == 0:
            step["on_reject"] = "continue"
        steps.append(step)
    return {"steps": steps}


class EngineMachine(RuleBasedStateMachine):
    applicant: User
    clerk: User

    @initialize(route=routes(), area=st.sampled_from([50, 200, 500]))
    def submit(self, route, area):
        departments()
        self.applicant = UserFactory(username="sm.applicant", display_name="Sam Applicant")
        VerifiedAttribute.objects.get_or_create(
            user=self.applicant,
            element_key="person.full_name",
            defaults={"value": "Sam Applicant", "source": "identity"},
        )
        market = Department.objects.get(code="market")
        self.clerk = UserFactory(username="sm.clerk", is_staff=True)
        if not self.clerk.memberships.exists():
            MembershipFactory(user=self.clerk, department=market, role=Role.CLERK)
        self.first_outbox = (OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        self.route = route
        self.application = application_submit(
            applicant=self.applicant,
            version=published_version(route=route),
            data={"business.floor_area_m2": area},
        )

    # --- deliveries --------------------------------------------------------------------------

    def _rows(self, *, confirmed: bool | None):
        rows = OutboxMessage.objects.filter(pk__gte=self.first_outbox).order_by("pk")
        if confirmed is not None:
            rows = rows.filter(confirmed_at__isnull=not confirmed)
        return list(rows)

    def _run(self, row: OutboxMessage) -> None:
        current_app.tasks[row.task].apply(kwargs={**row.kwargs, "outbox_id": row.pk}, throw=True)

    @rule(pick=st.integers(min_value=0, max_value=50))
    def deliver(self, pick):
        rows = self._rows(confirmed=False)
        if rows:
            self._run(rows[pick % len(rows)])

    @rule()
    def relay_everything_pending(self):
        for row in self._rows(confirmed=False):
            self._run(row)

    @rule(pick=st.integers(min_value=0, max_value=50))
    def deliver_again(self, pick):
        rows = self._rows(confirmed=True)
        if rows:
            self._run(rows[pick % len(rows)])

    # --- people ------------------------------------------------------------------------------

    def _reviews(self, *statuses: str) -> list[WorkItem]:
        return list(
            WorkItem.objects.filter(application=self.application, kind="review", status__in=statuses).order_by("pk")
        )

    @rule(pick=st.integers(0, 10), decision=st.sampled_from(["approved", "approved", "rejected"]))
    def decide(self, pick, decision):
        items = self._reviews(WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)
        if not items:
            return
        work = items[pick % len(items)]
        try:
            if work.status == WorkItem.Status.OPEN:
                work_item_claim(work_item_id=work.pk, clerk=self.clerk)
            work_item_decide(work_item_id=work.pk, actor=self.clerk, decision=decision, reasons=["Not acceptable"])
        except TransitionRefused:
            pass

    @rule(pick=st.integers(0, 10))
    def ask_for_correction(self, pick):
        items = self._reviews(WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)
        if not items:
            return
        work = items[pick % len(items)]
        try:
            if work.status == WorkItem.Status.OPEN:
                work_item_claim(work_item_id=work.pk, clerk=self.clerk)
            correction_request(
                work_item_id=work.pk, actor=self.clerk, fields=["business.name"], materials=[], message="Check the name"
            )
        except TransitionRefused:
            pass

    @rule()
    def answer_correction(self):
        with contextlib.suppress(TransitionRefused):
            correction_submit(
                application_id=self.application.pk,
                applicant=self.applicant,
                data={"business.name": "Corrected Name"},
                documents={},
            )

    @rule(roll=st.integers(0, 9))
    def withdraw(self, roll):
        if roll == 0:  # rarely
            with contextlib.suppress(TransitionRefused):
                application_withdraw(application_id=self.application.pk, applicant=self.applicant)

    def teardown(self):
        if hasattr(self, "application"):
            self.application.refresh_from_db()
            event(f"application ended {self.application.status}")

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def steps_open_only_after_their_after_steps(self):
        if not hasattr(self, "application"):
            return
        after = {step["key"]: step.get("after", []) for step in self.route["steps"]}
        items = list(WorkItem.objects.filter(application=self.application).order_by("round"))
        current = {item.step_key: item for item in items}
        for item in items:
            for parent in after[item.step_key]:
                assert parent in current, f"{item.step_key} opened before {parent} existed"
                assert current[parent].status in FINISHED_OK, f"{item.step_key} opened before {parent} finished"
                parent_done = (
                    ApplicationEvent.objects.filter(work_item=current[parent], to_status__in=FINISHED_OK)
                    .values_list("pk", flat=True)
                    .first()
                )
                first_event = (
                    ApplicationEvent.objects.filter(work_item=item).order_by("pk").values_list("pk", flat=True)
                )
                assert parent_done is not None and parent_done < first_event[0]

    @invariant()
    def at_most_one_live_item_per_step(self):
        if not hasattr(self, "application"):
            return
        live = list(
            WorkItem.objects.filter(application=self.application, status__in=WorkItem.LIVE).values_list(
                "step_key", flat=True
            )
        )
        assert len(live) == len(set(live))

    @invariant()
    def a_finished_application_has_no_open_work(self):
        if not hasattr(self, "application"):
            return
        application = Application.objects.get(pk=self.application.pk)
        if application.is_finished:
            assert not WorkItem.objects.filter(application=application, status__in=WorkItem.LIVE).exists()
            assert not Timer.objects.filter(application=application, fired_at=None, cancelled_at=None).exists()
            assert not WorkItem.objects.filter(application=application, warning_at__isnull=False).exists()
            assert not WorkItem.objects.filter(application=application, escalate_at__isnull=False).exists()

    @invariant()
    def every_state_change_has_exactly_one_event(self):
        if not hasattr(self, "application"):
            return
        application = Application.objects.get(pk=self.application.pk)
        changes = ApplicationEvent.objects.filter(application=application).exclude(from_status=F("to_status"))
        chain = [(e.from_status, e.to_status) for e in changes.filter(work_item=None).order_by("pk")]
        status = Application.Status.SUBMITTED.value
        for from_status, to_status in chain:
            assert from_status == status, chain
            status = to_status
        assert status == application.status
        for item in WorkItem.objects.filter(application=application):
            status = ""
            for from_status, to_status in (
                changes.filter(work_item=item).order_by("pk").values_list("from_status", "to_status")
            ):
                assert from_status == status, (item.step_key, from_status, status)
                status = to_status
            assert status == item.status, (item.step_key, status, item.status)


@pytest.mark.django_db
def test_the_engine_keeps_its_invariants_under_random_routes_and_deliveries():
    run_state_machine_as_test(
        EngineMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
