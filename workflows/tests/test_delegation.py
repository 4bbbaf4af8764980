"""Mandates: Alice's father lets her act for him. What is refused when giving one, accepting and
ending it, acting for him (his draft, his verified identity, his applications), what he is told
and what his access log shows — and that Bob, a stranger, reaches none of it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.actions import verified_attribute_set
from accounts.tests.factories import UserFactory
from services.models import DataElement
from workflows.apply.actions import draft_attach_document, draft_save
from workflows.delegation.acting import SESSION_KEY
from workflows.delegation.actions import MandateRefused, mandate_accept, mandate_end, mandate_grant
from workflows.engine.actions import application_withdraw, correction_request, correction_submit, work_item_claim
from workflows.engine.errors import TransitionRefused
from workflows.models import Application, ApplicationGroup, DataAccessRecord, Mandate, Notification
from workflows.tests.test_apply_support import Catalogue, build_catalogue, vault_document, verify_alice
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = pytest.mark.django_db

FATHER_ID = "110105195501010019"
ALICE_ID = "11010519491231002X"
TODAY = timezone.localdate


@pytest.fixture
def catalogue(db) -> Catalogue:
    return build_catalogue()


@pytest.fixture
def father(db):
    user = UserFactory(username="wang.jianguo", display_name="Wang Jianguo", email="jianguo@example.org")
    for key, value in {"person.full_name": "Wang Jianguo", "person.id_number": FATHER_ID}.items():
        verified_attribute_set(user=user, element_key=key, value=value, source="identity")
    return user


@pytest.fixture
def verified_alice(alice):
    verify_alice(alice)
    return alice


def grant(father, alice, **kwargs) -> Mandate:
    options = {
        "delegate_login": alice.email,
        "delegate_resident_id": ALICE_ID,
        "valid_from": TODAY(),
        "valid_until": TODAY() + datetime.timedelta(days=90),
        "may_submit": True,
        "all_services": True,
        **kwargs,
    }
    return mandate_grant(principal=father, **options)


@pytest.fixture
def mandate(father, verified_alice) -> Mandate:
    return mandate_accept(delegate=verified_alice, mandate_id=grant(father, verified_alice).pk)


def acting_client(client, alice, mandate):
    client.force_login(alice)
    session = client.session
    session[SESSION_KEY] = mandate.pk
    session.save()
    return client


# --- Giving a mandate: what is refused ---------------------------------------------------------


def test_a_mandate_to_oneself_is_refused(father):
    with pytest.raises(MandateRefused, match="to yourself"):
        grant(father, father, delegate_resident_id=FATHER_ID)


def test_a_mandate_to_an_unverified_person_is_refused(father, alice):
    with pytest.raises(MandateRefused, match="no person with a verified identity"):
        grant(father, alice)
    assert not Mandate.objects.exists()


def test_the_resident_id_must_match_the_persons_verified_one(father, verified_alice):
    with pytest.raises(MandateRefused, match="no person with a verified identity"):
        grant(father, verified_alice, delegate_resident_id=FATHER_ID)


def test_an_unverified_person_cannot_give_a_mandate(alice, verified_alice, bob):
    verified_attribute_set(user=bob, element_key="person.full_name", value="Bob Li", source="identity")
    with pytest.raises(MandateRefused, match="verified identity can give"):
        grant(bob, verified_alice)


def test_an_overlapping_mandate_of_the_same_pair_is_refused(father, verified_alice, mandate):
    with pytest.raises(MandateRefused, match="already has a mandate"):
        grant(father, verified_alice, valid_from=TODAY() + datetime.timedelta(days=30))
    # After the first one ends, a new one can be given.
    mandate_end(user=father, mandate_id=mandate.pk)
    assert grant(father, verified_alice).pk != mandate.pk


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(10, 5, "on or after the day it starts"), (-20, -1, "already have ended"), (0, 2000, "five years")],
)
def test_a_mandate_outside_a_sensible_validity_is_refused(father, verified_alice, start, end, message):
    with pytest.raises(MandateRefused, match=message):
        grant(
            father,
            verified_alice,
            valid_from=TODAY() + datetime.timedelta(days=start),
            valid_until=TODAY() + datetime.timedelta(days=end),
        )


def test_a_mandate_for_nothing_is_refused(father, verified_alice):
    with pytest.raises(MandateRefused, match="Choose every service"):
        grant(father, verified_alice, all_services=False)


def test_the_grant_page_shows_the_refusal_and_keeps_what_was_typed(client, father, verified_alice):
    client.force_login(father)
    response = client.post(
        reverse("workflows:mandate-new"),
        {
            "delegate_login": "nobody@example.org",
            "delegate_resident_id": ALICE_ID,
            "scope": "all",
            "valid_from": TODAY().isoformat(),
            "valid_until": (TODAY() + datetime.timedelta(days=30)).isoformat(),
            "may_submit": "yes",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "We found no person with a verified identity" in body
    assert 'value="nobody@example.org"' in body


def test_the_grant_page_with_bad_dates_says_so(client, father):
    client.force_login(father)
    response = client.post(reverse("workflows:mandate-new"), {"valid_from": "31/02/2026", "scope": "sideways"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter a real date." in body
    assert "Enter the e-mail address or log-in name" in body


def test_the_grant_page_offers_a_mandate_the_delegate_then_accepts(client, father, verified_alice, catalogue):
    client.force_login(father)
    response = client.post(
        reverse("workflows:mandate-new"),
        {
            "delegate_login": verified_alice.username,
            "delegate_resident_id": ALICE_ID.lower(),
            "scope": "chosen",
            "services": [catalogue.fire.pk],
            "valid_from": TODAY().isoformat(),
            "valid_until": (TODAY() + datetime.timedelta(days=30)).isoformat(),
            "may_submit": "no",
        },
        follow=True,
    )
    assert "Mandate offered to Alice Wang" in response.content.decode()
    mandate = Mandate.objects.get()
    assert mandate.state == Mandate.State.WAITING and not mandate.may_submit
    offered = Notification.objects.get(user=verified_alice, event=Notification.Event.MANDATE_OFFERED)
    assert offered.subject == "Wang Jianguo asks you to act for them"
    assert "prepare applications for them" in offered.body and offered.link == "/account/mandates/"
    assert list(mandate.services.all()) == [catalogue.fire]
    client.force_login(verified_alice)
    assert "Wang Jianguo" in client.get(reverse("workflows:mandate-list")).content.decode()
    client.post(reverse("workflows:mandate-accept", args=[mandate.pk]))
    mandate.refresh_from_db()
    assert mandate.is_active


# --- Outsiders -----------------------------------------------------------------------------------


def test_a_stranger_reaches_nothing_of_a_mandate(client, bob, mandate):
    client.force_login(bob)
    for name in ("workflows:mandate-detail",):
        assert client.get(reverse(name, args=[mandate.pk])).status_code == 404
    for name in ("workflows:mandate-accept", "workflows:mandate-end", "workflows:mandate-act"):
        assert client.post(reverse(name, args=[mandate.pk])).status_code == 404
    mandate.refresh_from_db()
    assert mandate.is_active
    assert "Wang Jianguo" not in client.get(reverse("workflows:mandate-list")).content.decode()


def test_the_principal_cannot_accept_their_own_offer(client, father, verified_alice):
    offered = grant(father, verified_alice)
    client.force_login(father)
    assert client.post(reverse("workflows:mandate-accept", args=[offered.pk])).status_code == 404
    offered.refresh_from_db()
    assert offered.accepted_at is None


def test_a_bobs_session_pretending_to_act_for_the_father_acts_for_nobody(client, bob, mandate, catalogue):
    acting_client(client, bob, mandate)
    response = client.get(reverse("workflows:apply-list"))
    assert "Acting for" not in response.content.decode()
    assert SESSION_KEY not in client.session


# --- Acting for him -------------------------------------------------------------------------------


def test_acting_shows_the_banner_and_a_draft_is_his_with_his_verified_identity(
    client, father, verified_alice, mandate, catalogue
):
    DataElement.objects.filter(key__in=["person.full_name", "person.id_number"]).update(bound=True)
    client.force_login(verified_alice)
    response = client.post(reverse("workflows:mandate-act", args=[mandate.pk]), follow=True)
    assert "Acting for Wang Jianguo" in response.content.decode()
    response = client.post(reverse("workflows:apply-start-service", args=[catalogue.fire.code]))
    group = ApplicationGroup.objects.get()
    assert group.applicant == father and group.mandate == mandate
    assert group.data["person.full_name"] == "Wang Jianguo"
    # Posting another name for him changes nothing: it is his verified name.
    client.post(reverse("workflows:apply-section", args=[group.pk, 1]), {"person.full_name": "Alice Wang"})
    group.refresh_from_db()
    assert group.data["person.full_name"] == "Wang Jianguo"
    # Switching back: the draft is not hers.
    client.post(reverse("workflows:mandate-act-as-myself"))
    assert client.get(reverse("workflows:apply-review", args=[group.pk])).status_code == 404


def _ready_draft(client, father, mandate, catalogue) -> ApplicationGroup:
    client.post(reverse("workflows:apply-start-service", args=[catalogue.fire.code]))
    group = ApplicationGroup.objects.get(applicant=father)
    saved = draft_save(
        applicant=father,
        group_id=group.pk,
        values={"business.name": "Wang's Tea House", "business.floor_area_m2": "80"},
    )
    assert saved.ok, saved.errors
    draft_attach_document(
        applicant=father,
        group_id=group.pk,
        document_type=catalogue.lease,
        document_id=vault_document(father, catalogue.lease).pk,
    )
    return group


def test_the_delegate_submits_for_him_and_he_is_told(
    client, father, verified_alice, mandate, catalogue, django_capture_on_commit_callbacks
):
    acting_client(client, verified_alice, mandate)
    group = _ready_draft(client, father, mandate, catalogue)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t1"})
    assert response.status_code == 302, response.content.decode()[:3000]
    application = Application.objects.get()
    assert application.applicant == father
    submitted = application.events.get(kind="application_submitted")
    assert submitted.actor == verified_alice
    told = Notification.objects.get(user=father, event=Notification.Event.ACTED_FOR)
    assert "Alice Wang submitted application" in told.subject
    assert application.number in told.body
    assert not Notification.objects.filter(user=verified_alice, event=Notification.Event.ACTED_FOR).exists()
    # She follows his application, and her look is in his access log as a look under his mandate.
    page = client.get(reverse("workflows:progress-application", args=[application.number]))
    assert page.status_code == 200
    assert client.get(f"/api/my/applications/{application.number}/").status_code == 200
    look = DataAccessRecord.objects.filter(applicant=father, accessor=verified_alice, application=application)
    assert look.filter(what=DataAccessRecord.What.DELEGATE_VIEW).count() == 2  # the page and the API
    client.force_login(father)
    log = client.get(reverse("workflows:progress-access-log")).content.decode()
    assert "Alice Wang" in log and "under your mandate" in log


def test_a_prepare_only_mandate_cannot_submit_and_the_draft_is_kept(client, father, verified_alice, catalogue):
    mandate = mandate_accept(delegate=verified_alice, mandate_id=grant(father, verified_alice, may_submit=False).pk)
    acting_client(client, verified_alice, mandate)
    group = _ready_draft(client, father, mandate, catalogue)
    review = client.get(reverse("workflows:apply-review", args=[group.pk])).content.decode()
    assert "lets you prepare this application, not submit it" in review
    assert "Accept and submit" not in review
    response = client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "t1"}, follow=True)
    assert "not submit it" in response.content.decode()
    assert not Application.objects.exists()
    group.refresh_from_db()
    assert group.is_draft and group.applicant == father


def test_a_service_outside_the_scope_is_refused(client, father, verified_alice, catalogue):
    mandate = mandate_accept(
        delegate=verified_alice,
        mandate_id=grant(father, verified_alice, all_services=False, services=[catalogue.fire]).pk,
    )
    acting_client(client, verified_alice, mandate)
    page = client.get(reverse("workflows:apply-start-service", args=[catalogue.tax.code])).content.decode()
    assert "does not cover this service" in page
    response = client.post(reverse("workflows:apply-start-service", args=[catalogue.tax.code]), follow=True)
    assert "does not cover this service" in response.content.decode()
    assert not ApplicationGroup.objects.exists()
    # His own draft of that service stays out of her reach.
    from workflows.apply.actions import draft_start

    his = draft_start(applicant=father, service=catalogue.tax)
    assert client.get(reverse("workflows:apply-review", args=[his.pk])).status_code == 404
    assert client.get(reverse("workflows:apply-list")).content.decode().count(f"/applications/{his.pk}/") == 0


def test_a_life_event_in_the_scope_covers_its_services(father, verified_alice, catalogue):
    mandate = mandate_accept(
        delegate=verified_alice,
        mandate_id=grant(father, verified_alice, all_services=False, life_events=[catalogue.restaurant]).pk,
    )
    assert set(Mandate.objects.covering(catalogue.tax.pk)) == {mandate}
    other = version_with().service
    assert not Mandate.objects.covering(other.pk).exists()


def test_once_the_mandate_ends_mid_draft_his_draft_answers_404_and_stays_his(
    client, father, verified_alice, mandate, catalogue
):
    acting_client(client, verified_alice, mandate)
    client.post(reverse("workflows:apply-start-service", args=[catalogue.fire.code]))
    group = ApplicationGroup.objects.get()
    assert client.get(reverse("workflows:apply-review", args=[group.pk])).status_code == 200
    mandate_end(user=father, mandate_id=mandate.pk)
    for url in (
        reverse("workflows:apply-review", args=[group.pk]),
        reverse("workflows:apply-section", args=[group.pk, 1]),
        reverse("workflows:apply-resume", args=[group.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("workflows:apply-submit", args=[group.pk]), {"token": "x"}).status_code == 404
    assert "Acting for" not in client.get(reverse("workflows:apply-list")).content.decode()
    group.refresh_from_db()
    assert group.applicant == father and group.is_draft
    mandate.refresh_from_db()
    assert mandate.ended_by == father and mandate.state == Mandate.State.ENDED


def test_an_expired_or_not_yet_valid_mandate_gives_no_access(client, father, verified_alice, catalogue):
    later = mandate_accept(
        delegate=verified_alice,
        mandate_id=grant(father, verified_alice, valid_from=TODAY() + datetime.timedelta(days=3)).pk,
    )
    assert later.state == Mandate.State.NOT_YET
    client.force_login(verified_alice)
    response = client.post(reverse("workflows:mandate-act", args=[later.pk]), follow=True)
    assert "valid today" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_corrections_and_withdrawals_for_him_tell_him_and_need_may_submit(
    father, verified_alice, clerk_a, department_a, department_b, catalogue, django_capture_on_commit_callbacks
):
    application = routed_application(applicant=father, version=version_with())
    mandate = mandate_accept(
        delegate=verified_alice,
        mandate_id=grant(father, verified_alice, all_services=False, services=[application.service]).pk,
    )
    item = step(application)
    work_item_claim(work_item_id=item.pk, clerk=clerk_a)
    correction_request(
        work_item_id=item.pk, actor=clerk_a, fields=["business.name"], materials=[], message="The name, please."
    )
    # Notifications are built by a task from the events, after the transition commits.
    with django_capture_on_commit_callbacks(execute=True):
        correction_submit(
            application_id=application.pk, applicant=verified_alice, data={"business.name": "Tea House"}, documents={}
        )
    assert Notification.objects.filter(user=father, event="acted_for", context__action="corrected").exists()
    with django_capture_on_commit_callbacks(execute=True):
        application_withdraw(application_id=application.pk, applicant=verified_alice)
    assert Notification.objects.filter(user=father, event="acted_for", context__action="withdrawn").exists()

    # A prepare-only mandate does not let her withdraw or answer.
    other = routed_application(applicant=father, version=version_with())
    mandate_end(user=verified_alice, mandate_id=mandate.pk)
    grant(father, verified_alice, may_submit=False)
    Mandate.objects.filter(accepted_at__isnull=True).update(accepted_at=timezone.now())
    with pytest.raises(TransitionRefused, match="lets you follow this application and prepare drafts"):
        application_withdraw(application_id=other.pk, applicant=verified_alice)


def test_the_delegate_follows_only_the_applications_the_mandate_covers_while_it_lasts(
    client, father, verified_alice, department_a, department_b, catalogue
):
    covered = routed_application(applicant=father, version=version_with())
    other = routed_application(applicant=father, version=version_with())
    mandate = mandate_accept(
        delegate=verified_alice,
        mandate_id=grant(father, verified_alice, all_services=False, services=[covered.service]).pk,
    )
    client.force_login(verified_alice)
    page = reverse("workflows:progress-application", args=[covered.number])
    assert client.get(page).status_code == 200
    assert client.get(reverse("workflows:progress-application", args=[other.number])).status_code == 404
    listed = client.get("/api/my/applications/").content.decode()
    assert covered.number in listed and other.number not in listed
    mandate_end(user=father, mandate_id=mandate.pk)
    assert client.get(page).status_code == 404
    assert client.get(f"/api/my/applications/{covered.number}/").status_code == 404
