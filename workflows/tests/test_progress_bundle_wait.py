"""A step waiting for another application of its bundle says so, by name and number.

In "have a baby", the maternity allowance's "Confirm the birth" step waits for the birth medical
certificate's approval (`waits_for`), while its "Check contributions" step runs. Alice's progress
page and the clerk's work item page name the application it waits for, instead of "not started";
once the certificate is approved the step opens and the wait is no longer shown."""

import datetime

import pytest
from django.utils import timezone

from accounts.demo import seed_accounts, seed_departments
from accounts.models import User
from documents.models import Document
from services.demo import seed_catalogue
from services.models import LifeEvent
from workflows.apply.actions import draft_attach_document, draft_save, draft_start, group_submit
from workflows.apply.selectors import group_form
from workflows.engine import actions
from workflows.engine.selectors import BUNDLE_WAITING, application_route_state, bundle_waits
from workflows.models import Application, WorkItem
from workflows.progress.selectors import StepState, application_steps

pytestmark = pytest.mark.django_db(transaction=True)


def baby_answers() -> dict[str, object]:
    """Only what Alice, the mother, types: her own and her husband's details are known."""
    return {
        "parents.applicant_is_mother": "yes",
        "parents.father_is_spouse": "yes",
        "baby.name": "Xiaoming Zhang",
        "baby.sex": "male",
        "baby.date_of_birth": (timezone.localdate() - datetime.timedelta(days=3)).isoformat(),
        "baby.born_in_hospital": "yes",
        "baby.birth_hospital": "Peking Union Medical College Hospital",
    }


@pytest.fixture
def baby(transactional_db) -> dict[str, Application]:
    """Alice's "have a baby", submitted: one application per service, by service code."""
    seed_departments()
    seed_accounts()
    seed_catalogue()
    from workflows.apply.demo import seed_demo_vault

    seed_demo_vault()
    alice = User.objects.get(username="alice")
    group = draft_start(applicant=alice, life_event=LifeEvent.objects.get(code="have-a-baby"))
    result = draft_save(applicant=alice, group_id=group.pk, values=baby_answers())
    assert result.ok, result.errors
    group.refresh_from_db()
    for material in group_form(group).shown_materials(group.data):
        document = Document.objects.filter(owner=alice, document_type=material.document_type).first()
        if document is not None:
            draft_attach_document(
                applicant=alice, group_id=group.pk, document_type=material.document_type, document_id=document.pk
            )
    outcome = group_submit(applicant=alice, group_id=group.pk, idempotency_key="baby-1")
    return {a.service.code: a for a in Application.objects.filter(group=outcome.group).select_related("service")}


def item(application: Application, key: str) -> WorkItem | None:
    return WorkItem.objects.filter(application=application, step_key=key).order_by("-round").first()


def approve_certificate(certificate: Application) -> None:
    clerk = User.objects.get(username="clerk.health")
    work = item(certificate, "verify")
    actions.work_item_claim(work_item_id=work.pk, clerk=clerk)
    actions.work_item_decide(work_item_id=work.pk, actor=clerk, decision="approved")
    certificate.refresh_from_db()
    assert certificate.status == Application.Status.APPROVED


def test_the_applicant_is_told_which_application_a_step_waits_for(baby, client):
    certificate, allowance = baby["birth-medical-certificate"], baby["maternity-allowance"]
    allowance.refresh_from_db()
    steps = {step.key: step for step in application_steps(allowance)}
    waiting = (
        f"Waiting for your application “Get a birth medical certificate” (number {certificate.number}) to be approved."
    )
    assert steps["birth"].state == StepState.WAITING_FOR_APPLICATION
    assert steps["birth"].state_label == "Waiting for another application"
    assert steps["birth"].waiting is not None and steps["birth"].waiting.summary == waiting
    # The step that does not wait runs, and the one after both has simply not started.
    assert steps["contributions"].state == StepState.QUEUED and steps["contributions"].waiting is None
    assert steps["issue"].state == StepState.NOT_STARTED and steps["issue"].waiting is None

    client.force_login(User.objects.get(username="alice"))
    page = client.get(f"/applications/{allowance.number}/").content.decode()
    row = page.split('<tr class="govuk-table__row" data-step="birth">', 1)[1].split("</tr>", 1)[0]
    assert "Waiting for another application" in row and "Not started yet" not in row
    assert f"(number {certificate.number}) to be approved." in row
    # The bundle page shows every application's steps: the same words there.
    bundle = client.get(f"/applications/bundles/{allowance.group.number}/").content.decode()
    assert bundle.count(f"(number {certificate.number}) to be approved.") == 3
    # And the progress API.
    answer = client.get(f"/api/my/applications/{allowance.number}/").json()
    birth = next(step for step in answer["steps"] if step["key"] == "birth")
    assert birth["state"] == "waiting_for_application" and birth["waiting"] == waiting

    approve_certificate(certificate)
    steps = {step.key: step for step in application_steps(allowance)}
    assert steps["birth"].state == StepState.QUEUED and steps["birth"].waiting is None
    page = client.get(f"/applications/{allowance.number}/").content.decode()
    assert "to be approved." not in page


def test_the_clerk_is_told_which_application_a_step_waits_for(baby, client):
    certificate, allowance = baby["birth-medical-certificate"], baby["maternity-allowance"]
    allowance.refresh_from_db()
    states = {state["key"]: state for state in application_route_state(allowance)}
    assert states["birth"]["status"] == BUNDLE_WAITING
    assert states["birth"]["status_label"] == "Waiting for another application"
    assert certificate.number in states["birth"]["waiting_for"]
    assert states["issue"]["status"] == "pending" and states["issue"]["waiting_for"] == ""

    client.force_login(User.objects.get(username="clerk.hrss"))
    page = client.get(f"/workbench/items/{item(allowance, 'contributions').pk}/").content.decode()
    wait = page.split('data-bundle-wait="birth"', 1)[1].split("</p>", 1)[0]
    assert "Confirm the birth" in wait
    assert (
        f"Waiting for the applicant&#x27;s application “Get a birth medical certificate” (number {certificate.number}) "
        "to be approved" in wait
    )
    assert 'data-state="bundle_waiting"' in page  # the route picture too

    approve_certificate(certificate)
    page = client.get(f"/workbench/items/{item(allowance, 'contributions').pk}/").content.decode()
    assert "data-bundle-wait" not in page and 'data-state="bundle_waiting"' not in page


def test_an_application_waiting_for_nothing_costs_no_query(baby, django_assert_num_queries):
    certificate = baby["birth-medical-certificate"]
    certificate.refresh_from_db()
    assert certificate.waiting_for == []
    from services.routes import parse_route

    steps = parse_route(certificate.service_version.route)
    with django_assert_num_queries(0):
        assert bundle_waits(certificate, steps, set()) == {}


def test_a_stopped_application_no_longer_says_it_waits(baby):
    """The certificate refused: the applications waiting for it are stopped, and say nothing of a wait."""
    certificate, allowance = baby["birth-medical-certificate"], baby["maternity-allowance"]
    clerk = User.objects.get(username="clerk.health")
    work = item(certificate, "verify")
    actions.work_item_claim(work_item_id=work.pk, clerk=clerk)
    actions.work_item_decide(work_item_id=work.pk, actor=clerk, decision="rejected", reasons=["Not our hospital"])
    allowance.refresh_from_db()
    assert allowance.status == Application.Status.WITHDRAWN
    states = {step.key: step.state for step in application_steps(allowance)}
    assert StepState.WAITING_FOR_APPLICATION not in states.values()
    assert all(state["waiting_for"] == "" for state in application_route_state(allowance))
