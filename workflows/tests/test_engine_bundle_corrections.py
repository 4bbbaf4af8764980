"""A correction is per bundle: Alice corrects an answer or document the applications of her
restaurant bundle share once, and it reaches each of them that uses it, those still waiting for
the business licence too. Each records it in its history ("corrected in answer to the Market
Regulation Administration's request"), which its clerk sees once its route opens; only the asking
step's clock stops and resumes (open steps of siblings keep running, waiting ones are not
touched); a finished application is left as it was decided (and the confirmation says so);
sending it twice changes nothing more; nobody else can send it."""

import datetime
from html import unescape

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.actions import verified_attribute_set
from accounts.models import User
from accounts.tests.factories import UserFactory
from documents.actions import document_upload
from documents.models import Document, DocumentType
from services.actions import version_new_draft, version_publish
from services.models import Service
from workflows.apply.demo import demo_pdf
from workflows.delegation.actions import mandate_accept, mandate_grant
from workflows.engine.actions import (
    application_withdraw,
    correction_answer,
    correction_request,
    work_item_claim,
)
from workflows.engine.errors import TransitionRefused
from workflows.models import Application, ApplicationEvent, GroupDocument, WorkItem
from workflows.tests.bundle_support import (
    ADDRESS,
    NEW_ADDRESS,
    Bundle,
    licence_approve,
    open_item,
    seed_demo,
    submit_restaurant,
)
from workflows.workbench.selectors import application_documents

pytestmark = pytest.mark.django_db

BUNDLE_KIND = ApplicationEvent.Kind.CORRECTED_IN_BUNDLE
MARKET_ASKS = "Corrected in answer to the Market Regulation Administration's request"


@pytest.fixture
def demo(db) -> None:
    seed_demo()


@pytest.fixture
def alice(demo) -> User:
    return User.objects.get(username="alice")


@pytest.fixture
def bundle(alice, django_capture_on_commit_callbacks) -> Bundle:
    return submit_restaurant(django_capture_on_commit_callbacks, alice)


def ask(bundle: Bundle, *, fields=("business.address",), materials=(), on: Application | None = None) -> WorkItem:
    """The market clerk examining the business licence (or, once it is approved, the food
    permit: `on`) asks Alice to correct."""
    clerk = User.objects.get(username="clerk.market")
    item = open_item(on or bundle.licence, "examine")
    work_item_claim(work_item_id=item.pk, clerk=clerk)
    correction_request(
        work_item_id=item.pk,
        actor=clerk,
        fields=list(fields),
        materials=list(materials),
        message="The address is not the one on the lease.",
    )
    item.refresh_from_db()
    return item


def new_lease(alice: User) -> Document:
    return document_upload(
        owner=alice,
        document_type=DocumentType.objects.get(code="lease-agreement"),
        uploaded_file=SimpleUploadedFile(
            "lease-12-gulou.pdf", demo_pdf("Lease, 12 Gulou Street", alice.name), content_type="application/pdf"
        ),
    )


def bundle_events(application: Application) -> list[ApplicationEvent]:
    return list(ApplicationEvent.objects.filter(application=application, kind=BUNDLE_KIND))


# --- The flow -----------------------------------------------------------------------------------


def test_a_shared_answer_corrected_once_reaches_every_application_of_the_bundle(alice, bundle):
    ask(bundle)
    outcome = correction_answer(
        application_id=bundle.licence.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
    )
    bundle.refresh()

    assert {a.number for a in outcome.updated} == {bundle.food.number, bundle.tax.number}
    assert outcome.finished == [] and outcome.not_covered == []
    for application in (bundle.licence, bundle.food, bundle.tax):
        assert application.data["business.address"] == NEW_ADDRESS
        assert application.status == Application.Status.IN_PROGRESS
    # The siblings are unfinished but still wait for the licence: the answer reached them anyway,
    # and opened nothing of theirs.
    for sibling in (bundle.food, bundle.tax):
        assert sibling.waiting_for == ["business-licence"]
        assert not sibling.work_items.exists()
    # Each sibling records it once, with whose request it answers; the asking one as before.
    for sibling in (bundle.food, bundle.tax):
        (event,) = bundle_events(sibling)
        assert event.actor == alice and event.work_item is None
        assert event.payload == {
            "fields": ["business.address"],
            "materials": [],
            "asked_by": ["market"],
            "source": bundle.licence.number,
        }
        assert event.from_status == event.to_status == Application.Status.IN_PROGRESS
    assert bundle_events(bundle.licence) == []
    sent = ApplicationEvent.objects.get(application=bundle.licence, kind=ApplicationEvent.Kind.CORRECTION_SUBMITTED)
    assert sent.payload["bundle_updated"] == [bundle.food.number, bundle.tax.number]
    # Only the corrected answer changed; the rest is as submitted.
    assert bundle.food.data["business.name"] == "Alice's Noodles"


def test_a_shared_document_reaches_the_applications_that_use_it(alice, bundle):
    old = GroupDocument.objects.get(group=bundle.group, document_type__code="lease-agreement").document
    ask(bundle, materials=["lease-agreement"])
    lease = new_lease(alice)
    correction_answer(
        application_id=bundle.licence.pk,
        applicant=alice,
        data={"business.address": NEW_ADDRESS},
        documents={"lease-agreement": lease.pk},
    )
    bundle.refresh()

    # The food permit needs the lease: it records the new one. Tax does not: only the address.
    (food_event,) = bundle_events(bundle.food)
    assert food_event.payload["materials"] == ["lease-agreement"]
    (tax_event,) = bundle_events(bundle.tax)
    assert tax_event.payload["materials"] == []
    assert not [a for a in application_documents(bundle.tax, needs=None) if a.document_type.code == "lease-agreement"]
    for application in (bundle.licence, bundle.food):
        leases = [
            a.document
            for a in application_documents(application, needs=None)
            if a.document_type.code == "lease-agreement"
        ]
        assert leases == [lease] != [old]


def test_each_department_sees_the_change_in_its_history(client, alice, bundle, django_capture_on_commit_callbacks):
    ask(bundle)
    correction_answer(
        application_id=bundle.licence.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
    )
    # The licence is approved: the tax registration's route opens, the correction in its history.
    licence_approve(django_capture_on_commit_callbacks, bundle)
    assert bundle.tax.data["business.address"] == NEW_ADDRESS  # the delivery kept the correction
    tax_clerk = User.objects.get(username="clerk.tax")
    client.force_login(tax_clerk)
    page = unescape(
        client.get(reverse("workflows:workbench-item", args=[open_item(bundle.tax, "confirm").pk])).content.decode()
    )
    history = page[page.index('id="history"') :]
    assert MARKET_ASKS in history
    assert f"Changed: Business premises address (answer sent for application {bundle.licence.number})" in history
    assert NEW_ADDRESS in page and ADDRESS not in page  # the data it judges is the corrected one

    # The same line in Chinese, for the same event.
    client.cookies["django_language"] = "zh-hans"
    page = client.get(
        reverse("workflows:workbench-item", args=[open_item(bundle.tax, "confirm").pk]),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    assert "市场监督管理局" in page[page.index('id="history"') :]

    # Market Regulation sees the same on the food permit, whose route opened with it.
    client.cookies.pop("django_language")
    client.force_login(User.objects.get(username="clerk.market"))
    page = unescape(
        client.get(reverse("workflows:workbench-item", args=[open_item(bundle.food, "examine").pk])).content.decode()
    )
    assert MARKET_ASKS in page[page.index('id="history"') :]
    assert NEW_ADDRESS in page and ADDRESS not in page

    # Alice's own timeline of the tax registration says where it came from.
    client.force_login(alice)
    page = client.get(reverse("workflows:progress-application", args=[bundle.tax.number])).content.decode()
    assert "Updated with the correction you sent for another application of this bundle" in page


# --- Clocks ------------------------------------------------------------------------------------


def test_only_the_asking_steps_clock_stops_the_others_keep_running(alice, bundle, django_capture_on_commit_callbacks):
    """The licence approved, the food permit's examination asks about the address the tax
    registration shares: the tax registration's open step keeps its clock; the finished licence
    is left as it was approved."""
    licence_approve(django_capture_on_commit_callbacks, bundle)
    tax_item = open_item(bundle.tax, "confirm")
    assert tax_item.status == WorkItem.Status.OPEN and tax_item.statutory_due_at is not None
    tax_due, tax_application_due = tax_item.statutory_due_at, bundle.tax.statutory_due_at
    licence_events = bundle.licence.events.count()
    asked_at = timezone.now()
    with time_machine.travel(asked_at, tick=False):
        asking = ask(bundle, on=bundle.food)
    assert asking.clock_stopped_at is not None
    due_before = asking.statutory_due_at
    answered_at = asked_at + datetime.timedelta(days=7)  # a full week: five working days stopped
    with time_machine.travel(answered_at, tick=False):
        outcome = correction_answer(
            application_id=bundle.food.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
        )
    asking.refresh_from_db()
    tax_item.refresh_from_db()
    bundle.refresh()

    assert asking.clock_stopped_at is None and asking.statutory_due_at > due_before
    assert asking.status == WorkItem.Status.CLAIMED
    # The step that did not ask: took the answer, never stopped, due when it was due.
    assert [a.number for a in outcome.updated] == [bundle.tax.number]
    assert bundle.tax.data["business.address"] == NEW_ADDRESS
    assert tax_item.clock_stopped_at is None
    assert tax_item.statutory_due_at == tax_due
    assert tax_item.status == WorkItem.Status.OPEN
    assert bundle.tax.statutory_due_at == tax_application_due
    assert bundle.food.status == bundle.tax.status == Application.Status.IN_PROGRESS
    # The approved licence: as it was decided, and said so.
    assert [a.number for a in outcome.finished] == [bundle.licence.number]
    assert bundle.licence.data["business.address"] == ADDRESS
    assert bundle.licence.events.count() == licence_events


def test_a_waiting_siblings_clock_is_not_touched(alice, bundle, django_capture_on_commit_callbacks):
    """Siblings waiting for the licence have no step yet: the answer a week later changes their
    data, not their due times; their steps open, with full time, when the licence is approved."""
    dues = {sibling.pk: sibling.statutory_due_at for sibling in (bundle.food, bundle.tax)}
    asked_at = timezone.now()
    with time_machine.travel(asked_at, tick=False):
        ask(bundle)
    with time_machine.travel(asked_at + datetime.timedelta(days=7), tick=False):
        correction_answer(
            application_id=bundle.licence.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
        )
    bundle.refresh()
    for sibling in (bundle.food, bundle.tax):
        assert dues[sibling.pk] is not None and sibling.statutory_due_at == dues[sibling.pk]
        assert sibling.waiting_for == ["business-licence"]
        assert not sibling.work_items.exists()

    licence_approve(django_capture_on_commit_callbacks, bundle)
    for sibling, step in ((bundle.food, "examine"), (bundle.tax, "confirm")):
        item = open_item(sibling, step)
        assert item.status == WorkItem.Status.OPEN and item.clock_stopped_at is None
        assert item.statutory_due_at > timezone.now()


# --- A finished application of the bundle -------------------------------------------------------


def test_a_finished_application_is_not_touched_and_the_confirmation_says_so(client, alice, bundle):
    old = GroupDocument.objects.get(group=bundle.group, document_type__code="lease-agreement").document
    application_withdraw(application_id=bundle.food.pk, applicant=alice)
    ask(bundle, materials=["lease-agreement"])
    lease = new_lease(alice)
    events_before = ApplicationEvent.objects.filter(application=bundle.food).count()

    client.force_login(alice)
    correction_page = client.get(reverse("workflows:progress-correction", args=[bundle.licence.number]))
    assert "already finished; your correction will not change them" in correction_page.content.decode()
    response = client.post(
        reverse("workflows:progress-correction", args=[bundle.licence.number]),
        {"field-business.address": NEW_ADDRESS, "document-lease-agreement": str(lease.pk)},
    )
    assert response.status_code == 302
    assert response.url == reverse("workflows:progress-correction-sent", args=[bundle.licence.number])
    bundle.refresh()

    # The withdrawn food permit: same answers, same lease, no new event.
    assert bundle.food.status == Application.Status.WITHDRAWN
    assert bundle.food.data["business.address"] == ADDRESS
    assert ApplicationEvent.objects.filter(application=bundle.food).count() == events_before
    assert [
        a.document for a in application_documents(bundle.food, needs=None) if a.document_type.code == "lease-agreement"
    ] == [old]
    # The others took it.
    assert bundle.tax.data["business.address"] == NEW_ADDRESS
    assert [
        a.document
        for a in application_documents(bundle.licence, needs=None)
        if a.document_type.code == "lease-agreement"
    ] == [lease]

    page = client.get(response.url).content.decode()
    assert "Corrections sent" in page
    updated = page[page.index('id="bundle-updated"') :]
    assert bundle.tax.number in updated[: updated.index("</ul>")]
    finished = page[page.index('id="bundle-finished"') :]
    assert bundle.food.number in finished[: finished.index("</ul>")] and "Withdrawn" in finished
    assert "Not changed: already finished" in page


# --- Idempotency --------------------------------------------------------------------------------


def test_sending_the_correction_twice_changes_nothing_more(client, alice, bundle):
    ask(bundle)
    client.force_login(alice)
    url = reverse("workflows:progress-correction", args=[bundle.licence.number])
    first = client.post(url, {"field-business.address": NEW_ADDRESS})
    assert first.status_code == 302
    counts = {a.pk: a.events.count() for a in (bundle.licence, bundle.food, bundle.tax)}
    data = {a.pk: Application.objects.get(pk=a.pk).data for a in (bundle.licence, bundle.food, bundle.tax)}

    second = client.post(url, {"field-business.address": NEW_ADDRESS})
    assert second.status_code == 302
    assert second.url == reverse("workflows:progress-application", args=[bundle.licence.number])
    with pytest.raises(TransitionRefused, match="No correction is waiting"):
        correction_answer(
            application_id=bundle.licence.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
        )
    for application in (bundle.licence, bundle.food, bundle.tax):
        assert application.events.count() == counts[application.pk]
        assert Application.objects.get(pk=application.pk).data == data[application.pk]
    # The confirmation still tells the first answer.
    assert bundle.food.number in client.get(first.url).content.decode()


def test_a_sibling_that_already_holds_the_value_records_nothing(alice, bundle):
    Application.objects.filter(pk=bundle.tax.pk).update(data={**bundle.tax.data, "business.address": NEW_ADDRESS})
    ask(bundle)
    outcome = correction_answer(
        application_id=bundle.licence.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
    )
    assert [a.number for a in outcome.updated] == [bundle.food.number]
    assert bundle_events(bundle.tax) == []


# --- Who may send it ---------------------------------------------------------------------------


def test_an_outsider_cannot_answer_or_see_the_confirmation(client, alice, bundle):
    ask(bundle)
    bob = User.objects.get(username="bob")
    tax_clerk = User.objects.get(username="clerk.tax")
    for outsider in (bob, tax_clerk):
        client.force_login(outsider)
        url = reverse("workflows:progress-correction", args=[bundle.licence.number])
        assert client.get(url).status_code == 404
        assert client.post(url, {"field-business.address": "1 Elsewhere Road"}).status_code == 404
        assert (
            client.get(reverse("workflows:progress-correction-sent", args=[bundle.licence.number])).status_code == 404
        )
    with pytest.raises(TransitionRefused, match="does not exist"):
        correction_answer(
            application_id=bundle.licence.pk, applicant=bob, data={"business.address": "1 Elsewhere Road"}, documents={}
        )
    bundle.refresh()
    assert {a.data["business.address"] for a in (bundle.licence, bundle.food, bundle.tax)} == {ADDRESS}
    assert bundle.licence.status == Application.Status.AWAITING_APPLICANT
    assert not ApplicationEvent.objects.filter(kind=BUNDLE_KIND).exists()


def delegate_for(alice: User, service_codes: list[str]) -> User:
    """Alice's father, with an accepted mandate to act for her on these services only."""
    father = UserFactory(username="wang.jianguo", display_name="Wang Jianguo", email="jianguo@example.org")
    for key, value in {"person.full_name": "Wang Jianguo", "person.id_number": "110105195501010019"}.items():
        verified_attribute_set(user=father, element_key=key, value=value, source="identity")
    today = timezone.localdate()
    mandate = mandate_grant(
        principal=alice,
        delegate_login=father.email,
        delegate_resident_id="110105195501010019",
        valid_from=today,
        valid_until=today + datetime.timedelta(days=30),
        may_submit=True,
        services=list(Service.objects.filter(code__in=service_codes)),
    )
    mandate_accept(delegate=father, mandate_id=mandate.pk)
    return father


def test_a_delegate_corrects_only_the_applications_their_mandate_covers(alice, bundle):
    father = delegate_for(alice, ["business-licence"])
    ask(bundle)

    outcome = correction_answer(
        application_id=bundle.licence.pk, applicant=father, data={"business.address": NEW_ADDRESS}, documents={}
    )
    bundle.refresh()
    assert bundle.licence.data["business.address"] == NEW_ADDRESS
    assert {a.number for a in outcome.not_covered} == {bundle.food.number, bundle.tax.number}
    assert bundle.food.data["business.address"] == bundle.tax.data["business.address"] == ADDRESS
    assert bundle_events(bundle.food) == bundle_events(bundle.tax) == []


# --- A sibling that asked about the same thing itself --------------------------------------------
# Only once the licence is approved have the others open steps that can ask: the food permit's
# examination and the tax registration's confirmation ask about the same address.


def tax_asks(bundle: Bundle, fields: list[str]) -> WorkItem:
    clerk = User.objects.get(username="clerk.tax")
    item = open_item(bundle.tax, "confirm")
    work_item_claim(work_item_id=item.pk, clerk=clerk)
    correction_request(work_item_id=item.pk, actor=clerk, fields=fields, materials=[], message="Check the address.")
    item.refresh_from_db()
    return item


def test_a_sibling_asking_the_same_is_answered_by_the_same_correction(
    alice, bundle, django_capture_on_commit_callbacks
):
    licence_approve(django_capture_on_commit_callbacks, bundle)
    ask(bundle, on=bundle.food)
    tax_item = tax_asks(bundle, ["business.address"])
    assert tax_item.clock_stopped_at is not None

    correction_answer(
        application_id=bundle.food.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
    )
    bundle.refresh()
    tax_item.refresh_from_db()

    # Corrected once: the tax step asked and is answered, its clock runs again, with its clerk.
    assert bundle.tax.status == Application.Status.IN_PROGRESS
    assert bundle.tax.data["business.address"] == NEW_ADDRESS
    assert tax_item.clock_stopped_at is None and tax_item.status == WorkItem.Status.CLAIMED
    assert tax_item.correction["changes"]["answers"] == [
        {"key": "business.address", "before": ADDRESS, "after": NEW_ADDRESS}
    ]
    sent = ApplicationEvent.objects.get(application=bundle.tax, kind=ApplicationEvent.Kind.CORRECTION_SUBMITTED)
    assert sent.payload["source"] == bundle.food.number
    assert len(bundle_events(bundle.tax)) == 1
    assert bundle.licence.data["business.address"] == ADDRESS  # approved before: left as it was


def test_a_sibling_asking_more_keeps_waiting_for_the_rest(alice, bundle, django_capture_on_commit_callbacks):
    licence_approve(django_capture_on_commit_callbacks, bundle)
    ask(bundle, on=bundle.food)
    tax_item = tax_asks(bundle, ["business.address", "business.name"])

    correction_answer(
        application_id=bundle.food.pk, applicant=alice, data={"business.address": NEW_ADDRESS}, documents={}
    )
    bundle.refresh()
    tax_item.refresh_from_db()

    # The address arrived; the name is still owed on the tax registration, its clock still stopped.
    assert bundle.tax.data["business.address"] == NEW_ADDRESS
    assert bundle.tax.status == Application.Status.AWAITING_APPLICANT
    assert tax_item.clock_stopped_at is not None and tax_item.status == WorkItem.Status.WAITING


# --- Data the licence produces, corrected meanwhile -------------------------------------------------


def test_the_licence_approval_keeps_a_correction_a_waiting_sibling_took_meanwhile(
    alice, django_capture_on_commit_callbacks
):
    """A catalogue in which the licence's approval also produces the address and the food permit
    does not wait for it. The food permit's examination asks about the address; Alice's father,
    whose mandate covers the food permit and the tax registration but not the licence, corrects
    it: the waiting tax registration takes it, the licence does not. The licence's approval then
    delivers its credit code but keeps the tax registration's corrected address, and says so."""
    # New versions of the two services, published as the catalogue team would.
    licence = version_new_draft(service=Service.objects.get(code="business-licence"), actor=None)
    licence.produces = ["business.credit_code", "business.address"]
    licence.save(update_fields=["produces"])
    version_publish(version=licence, actor=None)
    food = version_new_draft(service=Service.objects.get(code="food-business-permit"), actor=None)
    for step in food.route["steps"] if isinstance(food.route, dict) else food.route:
        step.pop("waits_for", None)
    food.save(update_fields=["route"])
    version_publish(version=food, actor=None)
    bundle = submit_restaurant(django_capture_on_commit_callbacks, alice)
    assert bundle.food.waiting_for == [] and bundle.tax.waiting_for == ["business-licence"]
    father = delegate_for(alice, ["food-business-permit", "tax-registration"])
    ask(bundle, on=bundle.food)

    outcome = correction_answer(
        application_id=bundle.food.pk, applicant=father, data={"business.address": NEW_ADDRESS}, documents={}
    )
    assert [a.number for a in outcome.updated] == [bundle.tax.number]
    assert [a.number for a in outcome.not_covered] == [bundle.licence.number]

    licence_approve(django_capture_on_commit_callbacks, bundle)
    assert bundle.licence.data["business.address"] == ADDRESS
    assert bundle.tax.data["business.address"] == NEW_ADDRESS
    assert bundle.tax.data["business.credit_code"] == bundle.licence.data["business.credit_code"]
    received = ApplicationEvent.objects.get(application=bundle.tax, kind=ApplicationEvent.Kind.BUNDLE_DATA_RECEIVED)
    assert received.payload["elements"] == ["business.credit_code"]
    assert received.payload["kept"] == ["business.address"]
    assert "Kept the applicant's corrected answer" in received.reason and "business.address" in received.reason
    assert open_item(bundle.tax, "confirm").status == WorkItem.Status.OPEN
