"""Helpers for the bundle correction tests (no tests here): Alice's "open a restaurant" bundle on
the demo catalogue, submitted once and routed by the real engine.

The food business permit and the tax registration wait for the business licence: until it is
approved they have no open step (only the market clerk examining the licence can ask for a
correction); its approval gives them the credit code and opens their routes."""

from dataclasses import dataclass

from accounts.demo import seed_accounts, seed_departments
from accounts.models import User
from documents.models import Document
from services.demo import seed_catalogue
from services.models import LifeEvent
from workflows.apply.actions import draft_attach_document, draft_save, draft_start, group_submit
from workflows.apply.demo import seed_demo_vault
from workflows.apply.selectors import group_form
from workflows.engine.actions import work_item_claim, work_item_decide
from workflows.models import Application, ApplicationGroup, WorkItem

ADDRESS = "8 Gulou Street, Dongcheng District, Beijing"
NEW_ADDRESS = "12 Gulou Street, Dongcheng District, Beijing"
ANSWERS = {
    "business.name": "Alice's Noodles",
    "business.legal_form": "individual",
    "business.address": ADDRESS,
    "business.cuisine": "chinese",
    "business.floor_area_m2": "120",
    "business.seats": "40",
    "business.has_employees": "no",
}


def seed_demo() -> None:
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()


@dataclass
class Bundle:
    group: ApplicationGroup
    licence: Application
    food: Application
    tax: Application

    def refresh(self) -> "Bundle":
        for application in (self.licence, self.food, self.tax):
            application.refresh_from_db()
        return self


def submit_restaurant(capture, applicant: User | None = None) -> Bundle:
    """Alice's restaurant bundle, submitted and routed (the outbox run on commit): business
    licence (its examination open), food business permit and tax registration (waiting for the
    licence, nothing open)."""
    applicant = applicant or User.objects.get(username="alice")
    group = draft_start(applicant=applicant, life_event=LifeEvent.objects.get(code="open-a-restaurant"))
    saved = draft_save(applicant=applicant, group_id=group.pk, values=ANSWERS)
    assert saved.ok, saved.errors
    for material in group_form(group).shown_materials(ANSWERS):
        document = Document.objects.filter(owner=applicant, document_type__code=material.code).first()
        if document is not None and material in group_form(group).asked_materials:
            draft_attach_document(
                applicant=applicant, group_id=group.pk, document_type=material.code, document_id=document.pk
            )
    with capture(execute=True):
        outcome = group_submit(applicant=applicant, group_id=group.pk, idempotency_key="restaurant-1", assurance="high")
    by_service = {application.service.code: application for application in outcome.applications}
    return Bundle(
        group=outcome.group,
        licence=by_service["business-licence"],
        food=by_service["food-business-permit"],
        tax=by_service["tax-registration"],
    ).refresh()


def open_item(application: Application, step_key: str) -> WorkItem:
    item = application.work_items.filter(step_key=step_key).order_by("-round").first()
    assert item is not None, f"no work item {step_key} on {application.number}: {application.work_items.all()}"
    return item


def licence_approve(capture, bundle: Bundle) -> Bundle:
    """The market clerk approves the business licence (claiming its examination if nobody holds
    it); the delivery run on commit gives the food permit and the tax registration the credit code
    and opens their routes (the tax registration's automatic step runs, its confirmation opens)."""
    clerk = User.objects.get(username="clerk.market")
    item = open_item(bundle.licence, "examine")
    if item.assignee_id is None:
        work_item_claim(work_item_id=item.pk, clerk=clerk)
    with capture(execute=True):
        work_item_decide(work_item_id=item.pk, actor=clerk, decision="approved")
    bundle.refresh()
    assert bundle.licence.status == Application.Status.APPROVED
    assert bundle.food.waiting_for == bundle.tax.waiting_for == []
    return bundle
