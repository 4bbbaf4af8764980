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
