# ruff: noqa: F811  (the fixtures imported from offers_support are used as arguments)
"""Proactive offers (免申即享): a newborn's household registration approved offers Alice the
childcare allowance, prefilled, to accept with one click; the newborn's medical insurance is
granted without a request. Boundaries: not eligible, already applied, a double accept, a decline,
another person's offer, the engine's path untouched."""

import pytest

from workflows.models import Application, Notification, Offer, OfferRecord
from workflows.tests.offers_support import (  # noqa: F401  (fixtures)
    birth_registered,
    demo_catalogue,
    psb_clerk,
    verified_alice,
)

pytestmark = pytest.mark.django_db


def test_an_approved_birth_registration_offers_the_allowance_prefilled(
    django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    registration = birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    assert registration.status == Application.Status.APPROVED

    offer = Offer.objects.get(service__code="childbirth-allowance")
    assert offer.person == verified_alice
    assert offer.status == Offer.Status.OFFERED
    assert offer.trigger_application == registration
    assert offer.data == {
        "person.full_name": "Alice Wang",
        "person.id_number": registration.data["person.id_number"],
        "person.phone": "13800138000",
        "baby.name": "Xiaoming Zhang",
        "baby.date_of_birth": registration.data["baby.date_of_birth"],
    }
    assert offer.respond_by is not None
    assert OfferRecord.objects.filter(offer=offer, kind=OfferRecord.Kind.MADE).count() == 1
    message = Notification.objects.get(user=verified_alice, event=Notification.Event.OFFER_MADE)
    assert "Claim the childcare allowance" in message.subject
    assert message.link == f"/offers/{offer.pk}/"


def _offer(code: str = "childbirth-allowance") -> Offer:
    return Offer.objects.get(service__code=code)


def test_the_insurance_is_not_granted_while_a_document_it_needs_is_unknown_and_the_reason_is_recorded(
    django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    insurance = _offer("newborn-social-insurance")
    assert insurance.status == Offer.Status.NOT_MADE
    assert "Birth medical certificate" in insurance.reason
    assert OfferRecord.objects.get(offer=insurance).kind == OfferRecord.Kind.NOT_MADE
    assert not Application.objects.filter(service__code="newborn-social-insurance").exists()


def test_a_service_the_law_grants_without_a_request_is_applied_for_with_a_notice_and_an_opt_out(
    client, django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    from documents.models import DocumentType
    from workflows.tests.test_apply_support import vault_document

    vault_document(verified_alice, DocumentType.objects.get(code="birth-medical-certificate"))
    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    insurance = _offer("newborn-social-insurance")
    assert insurance.status == Offer.Status.GRANTED, insurance.reason
    granted = Application.objects.get(group=insurance.group)
    assert granted.service.code == "newborn-social-insurance"
    assert granted.data["baby.name"] == "Xiaoming Zhang"
    assert set(insurance.group.documents.values_list("document_type__code", flat=True)) == {
        "birth-medical-certificate",
        "household-register",
    }
    notice = Notification.objects.get(user=verified_alice, event=Notification.Event.OFFER_GRANTED)
    assert granted.number in notice.subject and notice.link == f"/offers/{insurance.pk}/"

    client.force_login(verified_alice)
    page = client.get(f"/offers/{insurance.pk}/")
    assert "Opt out" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/offers/{insurance.pk}/opt-out/")
    assert response.status_code == 302
    granted.refresh_from_db()
    insurance.refresh_from_db()
    assert granted.status == Application.Status.WITHDRAWN
    assert insurance.status == Offer.Status.OPTED_OUT
    assert list(OfferRecord.objects.filter(offer=insurance).values_list("kind", flat=True)) == [
        OfferRecord.Kind.GRANTED,
        OfferRecord.Kind.OPTED_OUT,
    ]


def test_a_person_not_eligible_gets_no_offer_and_the_reason_is_recorded(
    django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    birth_registered(
        django_capture_on_commit_callbacks,
        applicant=verified_alice,
        clerk=psb_clerk,
        **{"baby.date_of_birth": "2021-06-01"},
    )
    allowance = _offer()
    assert allowance.status == Offer.Status.NOT_MADE
    assert "born on or after 1 January 2022" in allowance.reason
    assert OfferRecord.objects.get(offer=allowance).kind == OfferRecord.Kind.NOT_MADE
    assert not Notification.objects.filter(event=Notification.Event.OFFER_MADE).exists()
    assert not Offer.objects.shown_to(verified_alice).exists()


def test_someone_who_already_applied_gets_no_offer_and_the_reason_is_recorded(
    django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    from services.models import Service
    from services.selectors import current_version
    from workflows.tests.factories import application_submit
    from workflows.tests.offers_support import birth_answers

    version = current_version(Service.objects.get(code="childbirth-allowance"))
    earlier = application_submit(applicant=verified_alice, version=version, data=birth_answers(), start=False)
    registration = birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    assert earlier.submitted_at <= registration.submitted_at
    allowance = _offer()
    assert allowance.status == Offer.Status.NOT_MADE
    assert earlier.number in allowance.reason


def test_accepting_submits_once_through_the_normal_submission(
    client, django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    allowance = _offer()
    client.force_login(verified_alice)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/offers/{allowance.pk}/accept/")
        second = client.post(f"/offers/{allowance.pk}/accept/")
    allowance.refresh_from_db()
    assert allowance.status == Offer.Status.ACCEPTED
    applications = Application.objects.filter(service__code="childbirth-allowance")
    assert applications.count() == 1
    application = applications.get()
    assert first.url == second.url == f"/applications/{allowance.group_id}/receipt/"
    assert application.group.idempotency_key == f"offer-{allowance.pk}"
    # Routed by the engine like any other submission: the health department's review is open.
    assert application.status == Application.Status.IN_PROGRESS
    assert application.work_items.filter(step_key="check", department__code="health").exists()
    assert application.data["baby.name"] == "Xiaoming Zhang"
    kinds = list(OfferRecord.objects.filter(offer=allowance).values_list("kind", flat=True))
    assert kinds == [OfferRecord.Kind.MADE, OfferRecord.Kind.ACCEPTED]
    # Accepted: no longer an offer to act on, and declining now is refused with a message.
    assert not Offer.objects.shown_to(verified_alice).filter(pk=allowance.pk).exists()
    response = client.post(f"/offers/{allowance.pk}/decline/", follow=True)
    assert "You accepted this offer" in response.content.decode()
    allowance.refresh_from_db()
    assert allowance.status == Offer.Status.ACCEPTED


def test_a_declined_offer_is_recorded_and_not_made_again_for_the_same_event(
    client, django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    from workflows.offers.actions import event_offers

    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    allowance = _offer()
    client.force_login(verified_alice)
    response = client.post(f"/offers/{allowance.pk}/decline/", follow=True)
    assert "You declined the offer" in response.content.decode()
    allowance.refresh_from_db()
    assert allowance.status == Offer.Status.DECLINED
    assert OfferRecord.objects.filter(offer=allowance, kind=OfferRecord.Kind.DECLINED, actor=verified_alice).exists()

    # The event's task again (a redelivered message): nothing new is offered or told.
    assert event_offers(event_id=allowance.trigger_event_id) == []
    assert Offer.objects.filter(service__code="childbirth-allowance").count() == 1
    assert Notification.objects.filter(event=Notification.Event.OFFER_MADE).count() == 1
    # Accepting after declining is refused, and nothing is submitted.
    client.post(f"/offers/{allowance.pk}/accept/")
    assert not Application.objects.filter(service__code="childbirth-allowance").exists()


def test_only_the_offers_person_sees_or_answers_it(
    client, django_capture_on_commit_callbacks, verified_alice, bob, psb_clerk
):
    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    allowance = _offer()
    client.force_login(bob)
    for url in (f"/offers/{allowance.pk}/",):
        assert client.get(url).status_code == 404
    for action in ("accept", "decline", "opt-out"):
        assert client.post(f"/offers/{allowance.pk}/{action}/").status_code == 404
    assert "Claim the childcare allowance" not in client.get("/applications/").content.decode()
    allowance.refresh_from_db()
    assert allowance.status == Offer.Status.OFFERED
    # An offer that was never made is nobody's page, its person's included.
    client.force_login(verified_alice)
    insurance = _offer("newborn-social-insurance")
    assert client.get(f"/offers/{insurance.pk}/").status_code == 404


def test_my_applications_and_the_offer_page_show_the_offer_with_its_deadline(
    client, django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    allowance = _offer()
    client.force_login(verified_alice)
    listing = client.get("/applications/").content.decode()
    assert "Offered to you" in listing and f"/offers/{allowance.pk}/" in listing
    page = client.get(f"/offers/{allowance.pk}/").content.decode()
    assert "Accept by" in page and "Xiaoming Zhang" in page and "Accept and apply" in page


def test_an_offer_past_its_deadline_cannot_be_accepted(
    client, django_capture_on_commit_callbacks, verified_alice, psb_clerk
):
    import datetime

    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    allowance = _offer()
    Offer.objects.filter(pk=allowance.pk).update(respond_by=allowance.respond_by - datetime.timedelta(days=61))
    client.force_login(verified_alice)
    response = client.post(f"/offers/{allowance.pk}/accept/", follow=True)
    assert "This offer ended on" in response.content.decode()
    assert not Application.objects.filter(service__code="childbirth-allowance").exists()
    assert "Offered to you" not in client.get("/applications/").content.decode()


def test_the_supervision_dashboard_counts_offers_made_accepted_and_granted(
    client, django_capture_on_commit_callbacks, verified_alice, psb_clerk, administrator
):
    from documents.models import DocumentType
    from workflows.tests.test_apply_support import vault_document

    vault_document(verified_alice, DocumentType.objects.get(code="birth-medical-certificate"))
    birth_registered(django_capture_on_commit_callbacks, applicant=verified_alice, clerk=psb_clerk)
    client.force_login(verified_alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/offers/{_offer().pk}/accept/")
    client.force_login(administrator)
    page = client.get("/supervision/").content.decode()
    import re

    figures = dict(re.findall(r'id="fig-offers-([a-z-]+)">([^<]+)<', page))
    assert figures == {"made": "1", "accepted": "1", "declined": "0", "granted": "1 (0 opted out)", "not-made": "0"}
