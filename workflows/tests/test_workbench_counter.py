"""Counter filing: a counter clerk files for a walk-in person identified by resident ID, with
consent recorded; the application is the person's and appears in their account."""

import pytest

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from workflows.models import Application, ApplicationGroup
from workflows.tests.factories import VALID_ID
from workflows.tests.test_workbench_support import attach_lease, routed_application, version_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def counter_clerk(department_a):
    return MembershipFactory(
        user=UserFactory(username="counter.a", display_name="Counter Clerk", is_staff=True),
        department=department_a,
        role=Role.COUNTER_CLERK,
    ).user


@pytest.fixture
def walk_in(alice):
    alice.resident_id = VALID_ID
    alice.save(update_fields=["resident_id"])
    return alice


@pytest.fixture
def version(department_a, department_b):
    return version_with()


def start(client, version, resident_id=VALID_ID, consent=True):
    data = {"resident_id": resident_id, "service": version.service.code}
    if consent:
        data["consent"] = "on"
    return client.post("/workbench/counter/", data)


def test_filing_for_a_walk_in_person_puts_the_application_in_their_account(client, counter_clerk, walk_in, version):
    earlier = routed_application(applicant=walk_in, version=version)
    lease = attach_lease(earlier)  # in Alice's vault already: reused, not uploaded again
    client.force_login(counter_clerk)
    response = start(client, version)
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    assert response.status_code == 302
    assert group.applicant == walk_in and group.consent_recorded_at is not None

    form_page = client.get(response.url).content.decode()
    assert "Alice Wang" in form_page
    assert "110105********002X" in form_page
    assert "lease.pdf" in form_page

    response = client.post(
        response.url,
        {
            "person__full_name": "Alice Wang",
            "base__person__full_name": "",
            "person__id_number": VALID_ID,
            "base__person__id_number": "",
            "business__name": "Tea Corner",
            "base__business__name": "",
            "business__floor_area_m2": "80",
            "base__business__floor_area_m2": "",
            "material__lease_contract": str(lease.pk),
            "submit": "1",
        },
        follow=True,
    )
    assert "Submitted" in response.content.decode()
    group.refresh_from_db()
    application = Application.objects.get(group=group)
    assert application.applicant == walk_in
    assert application.data["business.name"] == "Tea Corner"
    assert group.documents.get().document == lease

    client.force_login(walk_in)
    assert application.number in client.get("/applications/").content.decode()


def test_consent_must_be_recorded(client, counter_clerk, walk_in, version):
    client.force_login(counter_clerk)
    response = start(client, version, consent=False)
    assert response.status_code == 400
    assert "Record the person&#x27;s consent before filing for them." in response.content.decode()
    assert not ApplicationGroup.objects.exists()


def test_an_unknown_resident_id_is_explained_and_kept(client, counter_clerk, walk_in, version):
    client.force_login(counter_clerk)
    response = start(client, version, resident_id="110101199003070014")
    body = response.content.decode()
    assert response.status_code == 400
    assert "No account has this resident ID number." in body
    assert 'value="110101199003070014"' in body
    assert not ApplicationGroup.objects.exists()


def test_a_counter_draft_is_only_for_the_clerk_who_started_it(client, counter_clerk, clerk_a, walk_in, version):
    client.force_login(counter_clerk)
    start(client, version)
    group = ApplicationGroup.objects.get(filed_by=counter_clerk)
    client.force_login(clerk_a)
    assert client.get(f"/workbench/counter/{group.pk}/").status_code == 404
    client.force_login(walk_in)
    assert client.get(f"/workbench/counter/{group.pk}/").status_code == 404


def test_the_counter_is_404_for_citizens(client, bob):
    client.force_login(bob)
    assert client.get("/workbench/counter/").status_code == 404
