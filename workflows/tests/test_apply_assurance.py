"""Each service version declares the sign-in level it needs. Below it, the person keeps their
draft, is offered a step-up (national eID), and cannot submit on any path; the counter's in-person
identity check counts as high. The catalogue says what a service needs."""

import pytest
from django.urls import reverse

from accounts.assurance import Level, Method
from workflows.apply.actions import AssuranceTooLow, draft_start, group_submit
from workflows.models import Application
from workflows.tests.test_apply_support import build_catalogue, fill_everything, republish_at_level, verify_alice

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    return build_catalogue()


@pytest.fixture
def high_service(catalogue):
    """The licence service, republished as a version needing `high`."""
    return republish_at_level(catalogue.licence, Level.HIGH)


def signed_in_at(client, user, *methods: Method) -> None:
    """Signs `user` in with the session recording `methods`, as the sign-in views do."""
    from django.test import RequestFactory

    from accounts.assurance import assurance_record

    client.force_login(user)
    session = client.session
    request = RequestFactory().get("/")
    request.session = session
    for method in methods:
        assurance_record(request, method=method)
    session.save()


def ready_draft(alice, catalogue, service):
    verify_alice(alice)
    group = draft_start(applicant=alice, service=service)
    fill_everything(group, alice, catalogue)
    return group


def test_below_the_level_the_submission_is_refused_and_the_draft_kept(alice, catalogue, high_service):
    group = ready_draft(alice, catalogue, high_service)
    for level in (Level.LOW, Level.SUBSTANTIAL):
        with pytest.raises(AssuranceTooLow) as refused:
            group_submit(applicant=alice, group_id=group.pk, idempotency_key=f"k-{level}", assurance=level)
        assert refused.value.needed == Level.HIGH
    group.refresh_from_db()
    assert group.is_draft and not Application.objects.exists()
    outcome = group_submit(applicant=alice, group_id=group.pk, idempotency_key="k", assurance=Level.HIGH)
    assert outcome.created and len(outcome.applications) == 1


def test_the_review_page_offers_a_step_up_that_comes_back_to_the_draft(client, alice, catalogue, high_service):
    group = ready_draft(alice, catalogue, high_service)
    signed_in_at(client, alice, Method.EID)
    review = reverse("workflows:apply-review", args=[group.pk])
    page = client.get(review).content.decode()
    assert "Sign in with national eID to submit" in page
    assert f"/accounts/eid/login/?level=high&amp;next={review.replace('/', '%2F')}" in page
    assert reverse("workflows:apply-submit", args=[group.pk]) not in page  # no submit button below the level

    # A submit posted anyway is refused with the reason, and the draft is kept.
    response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t"}, follow=True)
    assert "sign in at level" in response.content.decode()
    group.refresh_from_db()
    assert group.is_draft

    signed_in_at(client, alice, Method.EID, Method.SECOND_FACTOR)
    page = client.get(review).content.decode()
    assert "Sign in with national eID to submit" not in page
    response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t2"})
    assert response.status_code == 302 and Application.objects.filter(group=group).exists()


def test_the_api_refuses_a_session_below_the_level_with_403(client, alice, catalogue, high_service):
    group = ready_draft(alice, catalogue, high_service)
    signed_in_at(client, alice, Method.PASSWORD)
    url = reverse("workflows-api:draft-submit", args=[group.pk])
    response = client.post(url, HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 403 and "national eID" in response.json()["detail"]
    signed_in_at(client, alice, Method.EID, Method.SECOND_FACTOR)
    assert client.post(url, HTTP_IDEMPOTENCY_KEY="k2").status_code == 201


def test_a_low_service_needs_no_step_up(client, alice, catalogue):
    group = ready_draft(alice, catalogue, catalogue.licence)
    signed_in_at(client, alice, Method.PASSWORD)
    page = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    assert "Sign in with national eID to submit" not in page
    assert reverse("workflows:apply-submit", args=[group.pk]) in page


def test_a_person_without_a_verified_identity_is_offered_eid_for_bound_fields(client, bob, catalogue):
    from services.models import DataElement
    from workflows.apply.selectors import version_parts_cache_clear

    DataElement.objects.filter(key__in=["person.full_name", "person.id_number"]).update(bound=True)
    version_parts_cache_clear()
    group = draft_start(applicant=bob, service=catalogue.licence)
    signed_in_at(client, bob, Method.PASSWORD)
    page = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    assert "must come from your verified identity" in page
    assert "/accounts/eid/login/?level=substantial" in page


def test_the_start_page_and_the_catalogue_say_what_a_service_needs(client, alice, catalogue, high_service):
    signed_in_at(client, alice, Method.PASSWORD)
    start = client.get(reverse("workflows:apply-start-service", args=[high_service.code])).content.decode()
    assert "Sign-in level needed to submit: High" in start
    assert "/accounts/eid/login/?level=high" in start
    listing = client.get(reverse("services:catalogue")).content.decode()
    assert "national eID and a second factor needed" in listing
    detail = client.get(reverse("services:service", args=[high_service.code])).content.decode()
    assert "National eID, confirmed with a second factor" in detail
    api = client.get(reverse("services-api:service-detail", args=[high_service.code])).json()
    assert api["current_version"]["minimum_assurance"] == "high"


def test_my_account_says_how_this_sign_in_was_confirmed(client, alice):
    signed_in_at(client, alice, Method.EID, Method.SECOND_FACTOR)
    page = client.get(reverse("portal:account")).content.decode()
    assert "High: national eID and a second factor" in page
    assert "Confirmed by: National eID, Second factor" in page


def test_notification_settings_offer_the_verified_phone_until_another_is_chosen(client, alice):
    from accounts.models import VerifiedAttribute

    VerifiedAttribute.objects.create(user=alice, element_key="person.phone", value="13900139000", source="identity")
    client.force_login(alice)
    url = reverse("workflows:progress-preferences")
    assert 'value="13900139000"' in client.get(url).content.decode()
    client.post(url, {"email": "on", "sms": "on", "phone": "13700137000"})
    page = client.get(url).content.decode()
    assert 'value="13700137000"' in page and 'value="13900139000"' not in page


def test_my_account_shows_the_linked_eid_or_how_to_link_one(client, alice):
    from accounts.models import EidIdentity

    client.force_login(alice)
    page = client.get(reverse("portal:account")).content.decode()
    assert "not linked to a national eID yet" in page and "/accounts/eid/login/?level=substantial" in page
    EidIdentity.objects.create(user=alice, issuer="https://eid.example", subject="s-1")
    page = client.get(reverse("portal:account")).content.decode()
    assert "Linked on" in page and "not linked" not in page
