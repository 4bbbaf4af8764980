"""Each service version declares the sign-in level it needs. Below it, the person keeps their
draft, is offered a step-up (national eID), and cannot submit on any path; the counter's in-person
identity check counts as high. The catalogue says what a service needs."""

import pytest
from django.urls import reverse

from accounts.assurance import Level, Method
from services.models import ServiceVersion
from workflows.apply.actions import AssuranceTooLow, draft_start, group_submit
from workflows.models import Application
from workflows.tests.test_apply_support import add_parts, build_catalogue, fill_everything, publish, verify_alice

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    return build_catalogue()


@pytest.fixture
def high_service(catalogue):
    """The licence service, republished as version 2 needing `high`."""
    service = catalogue.licence
    old = catalogue.version(service)
    version = ServiceVersion.objects.create(
        service=service, number=2, time_limit_days=20, minimum_assurance=Level.HIGH, route=old.route
    )
    fields = [(f.element.key, f.section_en, f.required, f.when) for f in old.fields.select_related("element")]
    materials = [(m.document_type, m.required, m.when) for m in old.materials.select_related("document_type")]
    add_parts(version, fields, materials)
    ServiceVersion.objects.filter(pk=old.pk).mark_retired(at=old.published_at)
    publish(version)
    return service


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
