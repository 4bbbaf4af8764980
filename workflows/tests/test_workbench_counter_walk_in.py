"""Walk-ins with no account: the counter clerk checks an identity document in person, files for
the person (whose record is created from that check), gives them a reference to follow the
application without an account, and their first national eID sign-in links the record."""

import datetime

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.assurance import Level
from accounts.eid.client import EidPerson
from accounts.eid.linking import eid_identity_sign_in
from accounts.models import Role, User, VerifiedAttribute
from accounts.tests.factories import MembershipFactory, UserFactory
from workflows.models import (
    Application,
    ApplicationGroup,
    DataAccessRecord,
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from workflows.tests.test_apply_support import pdf_upload
from workflows.tests.test_workbench_support import version_with
from workflows.workbench.actions import IdentityNotChecked, counter_draft_start

pytestmark = pytest.mark.django_db

CHEN_ID = "310104199207042561"  # Chen Mei of the demo eID register: born 1992-07-04
CHEN_BORN = "1992-07-04"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


@pytest.fixture
def counter_clerk(department_a):
    return MembershipFactory(
        user=UserFactory(username="counter.a", display_name="Counter Clerk", is_staff=True),
        department=department_a,
        role=Role.COUNTER_CLERK,
    ).user


@pytest.fixture
def version(department_a, department_b):
    return version_with()


def walk_in_start(client, version, **changes):
    data = {
        "identity_document": "resident_id_card",
        "identity_document_number": CHEN_ID,
        "identity_checked": "on",
        "resident_id": CHEN_ID,
        "full_name": "Chen  Mei",
        "phone": "139 0000 2561",
        "applies_for": f"service:{version.service.code}",
        "consent": "on",
        **changes,
    }
    return client.post("/workbench/counter/", {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def file_for_chen(client, counter_clerk, version, django_capture_on_commit_callbacks):
    def filing() -> Application:
        with django_capture_on_commit_callbacks(execute=True):
            return _file_for_chen(client, counter_clerk, version)

    return filing


def _file_for_chen(client, counter_clerk, version) -> Application:
    client.force_login(counter_clerk)
    response = walk_in_start(client, version)
    assert response.status_code == 302, response.content.decode()[:2000]
    form_url = response.url
    answers = {
        "person__full_name": "Chen Mei",
        "base__person__full_name": "",
        "person__id_number": CHEN_ID,
        "base__person__id_number": "",
        "business__name": "Chen's Dumplings",
        "base__business__name": "",
        "business__floor_area_m2": "60",
        "base__business__floor_area_m2": "",
        "material__lease_contract__file": pdf_upload(),
        "submit": "1",
    }
    check = client.post(form_url, answers)
    assert check.status_code == 200 and "Check the answers with them" in check.content.decode()
    done = client.post(form_url, {"submit": "1", "confirmed": "1"}, follow=True)
    assert done.status_code == 200
    return Application.objects.get(applicant__resident_id=CHEN_ID)


def test_the_counter_files_for_a_walk_in_with_no_account(client, counter_clerk, file_for_chen):
    assert not User.objects.filter(resident_id=CHEN_ID).exists()
    application = file_for_chen()

    person = application.applicant
    assert person.name == "Chen Mei" and not is_password_usable(person.password) and person.last_login is None
    verified = {a.element_key: a for a in VerifiedAttribute.objects.filter(user=person)}
    assert verified["person.id_number"].value == CHEN_ID
    assert verified["person.full_name"].value == "Chen Mei"
    assert {a.source for a in verified.values()} == {VerifiedAttribute.Source.COUNTER}
    group = application.group
    assert group.filed_by == counter_clerk and group.consent_recorded_at is not None
    assert group.identity_document == "resident_id_card" and group.identity_checked_at is not None
    # The check is in the person's access log.
    assert DataAccessRecord.objects.filter(
        applicant=person, accessor=counter_clerk, what=DataAccessRecord.What.IDENTITY_CHECK
    ).exists()
    # The done page is the printed reference: the number and how to follow it without an account.
    done = client.get(reverse("workflows:workbench-counter-done", args=[group.pk])).content.decode()
    assert application.number in done and "/track/" in done and "*******2561" in done
    # The receipt goes by SMS too, pointing at the tracking page (she has no account to sign in to).
    receipt = Notification.objects.get(user=person, event=Notification.Event.RECEIPT)
    assert receipt.link == f"/track/?number={application.number}"
    assert f"/track/?number={application.number}" in receipt.sms_text
    sms = receipt.deliveries.get(channel=NotificationDelivery.Channel.SMS)
    assert sms.state == NotificationDelivery.State.SENT  # through the SMS gateway (the logging one here)
    assert NotificationPreference.objects.get(user=person).phone == "13900002561"


def test_a_walk_in_with_no_account_needs_the_name_on_the_document(client, counter_clerk, version):
    client.force_login(counter_clerk)
    response = walk_in_start(client, version, full_name="")
    assert response.status_code == 400
    assert "Enter the person&#x27;s full name as on their identity document" in response.content.decode()
    assert not User.objects.filter(resident_id=CHEN_ID).exists()


def test_a_mistyped_resident_id_of_a_walk_in_is_refused(client, counter_clerk, version):
    client.force_login(counter_clerk)
    response = walk_in_start(client, version, resident_id="310104199207042562")
    assert response.status_code == 400
    assert "its last character does not match" in response.content.decode()
    assert not User.objects.filter(resident_id="310104199207042562").exists()


@pytest.mark.parametrize(
    "missing", [{"identity_checked": None}, {"identity_document": ""}, {"identity_document_number": ""}]
)
def test_a_visit_without_a_recorded_identity_check_cannot_file(client, counter_clerk, version, missing):
    client.force_login(counter_clerk)
    response = walk_in_start(client, version, **missing)
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not ApplicationGroup.objects.exists() and not User.objects.filter(resident_id=CHEN_ID).exists()
    # The action refuses it too, whoever calls it.
    with pytest.raises(IdentityNotChecked):
        counter_draft_start(
            clerk=counter_clerk, resident_id=CHEN_ID, consent=True, full_name="Chen Mei", service=version.service
        )


def test_the_unchecked_box_says_what_to_do(client, counter_clerk, version):
    client.force_login(counter_clerk)
    body = walk_in_start(client, version, identity_checked=None).content.decode()
    assert "Check the person&#x27;s identity document in person and record it" in body
    assert 'href="#id_identity_checked"' in body


def test_a_counter_draft_without_an_identity_check_cannot_be_filed(client, counter_clerk, version):
    """A draft from before identity checks were recorded (or altered since) is refused at filing."""
    application_count = Application.objects.count()
    client.force_login(counter_clerk)
    url = walk_in_start(client, version).url
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    ApplicationGroup.objects.filter(pk=group.pk).update(identity_checked_at=None)
    answers = {
        "person__full_name": "Chen Mei",
        "base__person__full_name": "",
        "person__id_number": CHEN_ID,
        "base__person__id_number": "",
        "business__name": "Chen's Dumplings",
        "base__business__name": "",
        "business__floor_area_m2": "60",
        "base__business__floor_area_m2": "",
        "material__lease_contract__file": pdf_upload(),
        "submit": "1",
        "confirmed": "1",
    }
    response = client.post(url, answers)
    assert response.status_code == 400
    assert "No identity check is recorded for this visit" in response.content.decode()
    assert Application.objects.count() == application_count


def test_the_first_eid_sign_in_links_the_walk_in_record(client, file_for_chen):
    application = file_for_chen()
    person = EidPerson(
        issuer="https://eid.example.gov",
        subject="demo-0003",
        full_name="Chen Mei",
        resident_id=CHEN_ID,
        acr="urn:onedoor:eid:high",
        level=Level.HIGH,
    )
    account = eid_identity_sign_in(person=person, signed_in=None)
    assert account.pk == application.applicant_id
    assert account.eid_identities.filter(subject="demo-0003").exists()
    assert VerifiedAttribute.objects.get(user=account, element_key="person.id_number").value == CHEN_ID
    client.force_login(account)
    assert application.number in client.get(reverse("workflows:apply-list")).content.decode()
    assert client.get(reverse("workflows:progress-application", args=[application.number])).status_code == 200


# --- Following an application without an account -------------------------------------------


def track(client, number, last4="2561", born=CHEN_BORN):
    return client.post("/track/", {"number": number, "id_last4": last4, "date_of_birth": born})


def test_the_tracking_page_shows_status_and_dates_only(client, file_for_chen):
    application = file_for_chen()
    client.logout()
    assert client.get(f"/track/?number={application.number}").status_code == 200
    response = track(client, application.number.lower())
    body = response.content.decode()
    assert response.status_code == 200
    assert application.number in body and application.get_status_display() in body
    assert str(timezone.localdate(application.submitted_at).year) in body
    # Nothing personal beyond the status and dates.
    for personal in ("Chen Mei", CHEN_ID, "Dumplings", "lease.pdf", "2561"):
        assert personal not in body


@pytest.mark.parametrize("last4, born", [("2562", CHEN_BORN), ("2561", "1992-07-05"), ("256X", CHEN_BORN)])
def test_the_tracking_page_refuses_wrong_details(client, file_for_chen, last4, born):
    application = file_for_chen()
    client.logout()
    response = track(client, application.number, last4=last4, born=born)
    body = response.content.decode()
    assert response.status_code == 400
    assert "We could not find an application with these details" in body
    assert 'id="tracked"' not in body and application.service.name_en not in body


def test_the_tracking_page_explains_bad_input(client):
    response = client.post("/track/", {"number": "", "id_last4": "12", "date_of_birth": "yesterday"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter the application number." in body
    assert "like 002X" in body and "Enter a date like 1992-07-04." in body


def test_guessing_the_four_characters_is_rate_limited(client, file_for_chen):
    application = file_for_chen()
    client.logout()
    for guess in range(5):
        assert track(client, application.number, last4=f"{guess:04d}").status_code == 400
    # Even the right answer is refused now: the guesser cannot tell.
    response = track(client, application.number)
    assert response.status_code == 429
    assert "Too many tries" in response.content.decode()
    assert 'id="tracked"' not in response.content.decode()


def test_an_unknown_number_is_refused_like_a_wrong_one(client):
    response = track(client, "2026-XXX-000001")
    assert response.status_code == 400
    assert "We could not find an application with these details" in response.content.decode()


def test_tracking_ignores_who_is_signed_in(client, bob, file_for_chen):
    """Bob, signed in, learns nothing more than an anonymous visitor with the wrong details."""
    application = file_for_chen()
    client.force_login(bob)
    assert track(client, application.number, last4="0000").status_code == 400
    born = datetime.date(1992, 7, 4).isoformat()
    assert track(client, application.number, born=born).status_code == 200
