# ruff: noqa: F811  (the fixtures imported from offers_support are used as arguments)
"""Two acceptances of one offer at the same moment (a double click reaching two workers), on
real PostgreSQL: exactly one application, and both answer with it."""

from contextlib import nullcontext

import pytest

from accounts.assurance import Level
from tests.support.concurrency import in_threads
from workflows.models import Application, Offer, OfferRecord
from workflows.offers.actions import offer_accept
from workflows.tests.offers_support import (  # noqa: F401  (fixtures)
    birth_registered,
    demo_catalogue,
    psb_clerk,
    verified_alice,
)

pytestmark = pytest.mark.django_db(transaction=True)


def no_capture(execute: bool = True):
    return nullcontext()  # transactional test: on-commit work runs as each transaction commits


def test_two_acceptances_at_once_give_one_application(verified_alice, psb_clerk):
    birth_registered(no_capture, applicant=verified_alice, clerk=psb_clerk)
    allowance = Offer.objects.get(service__code="childbirth-allowance")

    results = in_threads(
        2, lambda _index: offer_accept(person=verified_alice, offer_id=allowance.pk, assurance=Level.LOW)
    )

    assert all(isinstance(result, Offer) for result in results), results
    assert {result.group_id for result in results} == {results[0].group_id}
    assert Application.objects.filter(service__code="childbirth-allowance").count() == 1
    assert OfferRecord.objects.filter(offer=allowance, kind=OfferRecord.Kind.ACCEPTED).count() == 1
