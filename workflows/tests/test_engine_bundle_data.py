"""Data flowing inside a life event (real PostgreSQL, tasks run eagerly after commit): the food
permit and the tax registration of "open a restaurant" wait for the business licence, take the
credit code its approval produces, and are stopped, not left hanging, when it is refused."""

import pytest

from accounts.demo import seed_accounts, seed_departments
from accounts.models import User
from documents.models import Document
from services.demo import seed_catalogue
from services.models import LifeEvent
from workflows.apply.actions import draft_attach_document, draft_save, draft_start, group_submit
from workflows.apply.demo import seed_demo_vault
from workflows.apply.selectors import group_form, group_missing
from workflows.engine import actions
from workflows.engine.produced import CREDIT_CODE_CHARACTERS, credit_code_check_character
from workflows.models import Application, ApplicationEvent, OutboxMessage, WorkItem
from workflows.tests import engine_handlers  # noqa: F401 - registers the test handlers

pytestmark = pytest.mark.django_db(transaction=True)

RESTAURANT = {
    "business.name": "Noodle House",
    "business.legal_form": "individual",
    "business.address": "1 Renmin Road, Dongcheng District, Beijing",
    "business.cuisine": "chinese",
    "business.floor_area_m2": "120",
    "business.seats": 30,
    "business.has_employees": False,
}


@pytest.fixture
def restaurant(db) -> dict[str, Application]:
    """Alice's "open a restaurant", submitted: one application per service, by service code."""
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()
    alice = User.objects.get(username="alice")
    group = draft_start(applicant=alice, life_event=LifeEvent.objects.get(code="open-a-restaurant"))
    assert group_form(group).field("business.credit_code").is_produced_in_bundle
    assert draft_save(applicant=alice, group_id=group.pk, values=RESTAURANT).ok
    for material in group_form(group).shown_materials(group.data):
        document = Document.objects.filter(owner=alice, document_type=material.document_type).first()
        if document is not None:
            draft_attach_document(
                applicant=alice, group_id=group.pk, document_type=material.document_type, document_id=document.pk
            )
    group.refresh_from_db()
    # The credit code is never asked: the bundle produces it.
    assert not any("credit code" in m.label for m in group_missing(group_load(alice, group.pk)))
    outcome = group_submit(applicant=alice, group_id=group.pk, idempotency_key="restaurant-1")
    return {a.service.code: a for a in Application.objects.filter(group=outcome.group).select_related("service")}


def group_load(user, group_id):
    from workflows.apply.selectors import group_for_user

    return group_for_user(user=user, group_id=group_id)


def item(application: Application, key: str) -> WorkItem | None:
    return WorkItem.objects.filter(application=application, step_key=key).order_by("-round").first()


def decide(application: Application, key: str, decision: str, reasons: list[str] | None = None) -> None:
    clerk = User.objects.get(username=f"clerk.{item(application, key).department.code}")
    work = item(application, key)
    actions.work_item_claim(work_item_id=work.pk, clerk=clerk)
    actions.work_item_decide(work_item_id=work.pk, actor=clerk, decision=decision, reasons=reasons)


def kinds(application: Application) -> list[str]:
    return list(ApplicationEvent.objects.filter(application=application).order_by("pk").values_list("kind", flat=True))


def test_the_permit_and_the_tax_registration_wait_for_the_licence_and_take_its_credit_code(restaurant):
    licence, permit, tax = (restaurant[c] for c in ("business-licence", "food-business-permit", "tax-registration"))
    for waiting in (permit, tax):
        waiting.refresh_from_db()
        assert waiting.status == Application.Status.IN_PROGRESS
        assert waiting.waiting_for == ["business-licence"]
        assert "business.credit_code" not in waiting.data
        assert ApplicationEvent.Kind.BUNDLE_WAITING in kinds(waiting)
    # Nothing of theirs has opened: their first steps wait for the licence.
    assert item(permit, "examine") is None
    assert item(tax, "register") is None

    decide(licence, "examine", "approved")
    licence.refresh_from_db()
    assert licence.status == Application.Status.APPROVED
    code = licence.data["business.credit_code"]
    assert len(code) == 18 and all(c in CREDIT_CODE_CHARACTERS for c in code)
    assert code[-1] == credit_code_check_character(code[:17])

    for waiting in (permit, tax):
        waiting.refresh_from_db()
        assert waiting.waiting_for == []
        assert waiting.data["business.credit_code"] == code
        received = ApplicationEvent.objects.get(application=waiting, kind=ApplicationEvent.Kind.BUNDLE_DATA_RECEIVED)
        assert received.payload == {
            "from": licence.number,
            "service": "business-licence",
            "elements": ["business.credit_code"],
        }
        assert licence.number in received.reason
    # The waiting steps opened (the tax registration's automatic one has already run).
    assert item(permit, "examine").status == WorkItem.Status.OPEN
    assert item(tax, "register").status == WorkItem.Status.DONE
    # A second delivery (a redelivered task) changes nothing.
    from workflows.engine.bundles import bundle_deliver

    assert bundle_deliver(application_id=licence.pk) == []
    assert ApplicationEvent.objects.filter(kind=ApplicationEvent.Kind.BUNDLE_DATA_RECEIVED).count() == 2


def test_a_refused_licence_stops_the_applications_that_need_it_with_a_clear_reason(restaurant):
    licence, permit, tax = (restaurant[c] for c in ("business-licence", "food-business-permit", "tax-registration"))
    decide(licence, "examine", "rejected", reasons=["The business name is already registered."])
    licence.refresh_from_db()
    assert licence.status == Application.Status.REJECTED
    for waiting in (permit, tax):
        waiting.refresh_from_db()
        assert waiting.status == Application.Status.WITHDRAWN
        stopped = ApplicationEvent.objects.get(
            application=waiting, kind=ApplicationEvent.Kind.APPLICATION_BUNDLE_STOPPED
        )
        assert licence.number in stopped.reason and "refused" in stopped.reason
        assert stopped.payload["because_of"] == licence.number
        assert not WorkItem.objects.filter(application=waiting, status__in=WorkItem.LIVE).exists()


def test_an_application_that_waits_for_nothing_costs_no_bundle_task(restaurant):
    """Only a service that produces data sends the delivery task when it finishes."""
    permit = restaurant["food-business-permit"]
    assert not OutboxMessage.objects.filter(task="workflows.bundle_deliver").exists()
    actions.application_withdraw(application_id=permit.pk, applicant=permit.applicant)
    assert not OutboxMessage.objects.filter(task="workflows.bundle_deliver").exists()
