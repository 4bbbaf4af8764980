"""A counter clerk checks a person's identity card in person: their name and resident ID become
their verified identity (so a self-registered person can apply for services with bound identity
fields), the person's access log says so, and nobody can take an identity another account holds."""

import pytest
from django.urls import reverse

from accounts.models import Role, VerifiedAttribute
from accounts.tests.factories import MembershipFactory, UserFactory
from services.elements import resident_id_check_character
from workflows.apply.selectors import verified_values
from workflows.models import DataAccessRecord
from workflows.tests.factories import VALID_ID

pytestmark = pytest.mark.django_db

BOB_ID = "11010519800101001" + resident_id_check_character("11010519800101001")
URL = "/workbench/counter/identity/"


@pytest.fixture
def counter_clerk(department_a):
    return MembershipFactory(
        user=UserFactory(username="counter.a", display_name="Counter Clerk", is_staff=True),
        department=department_a,
        role=Role.COUNTER_CLERK,
    ).user


def check(client, **data):
    body = {"person": "bob@example.org", "full_name": "Bob  Li", "resident_id": BOB_ID, "card_seen": "on", **data}
    return client.post(URL, body)


def test_a_checked_card_becomes_the_verified_identity(client, counter_clerk, bob):
    client.force_login(counter_clerk)
    assert client.get(URL).status_code == 200
    response = check(client)
    assert response.status_code == 302 and response["Location"] == reverse("workflows:workbench-counter")
    values = verified_values(user=bob, keys=["person.full_name", "person.id_number", "person.date_of_birth"])
    assert values == {"person.full_name": "Bob Li", "person.id_number": BOB_ID, "person.date_of_birth": "1980-01-01"}
    assert set(VerifiedAttribute.objects.filter(user=bob).values_list("source", flat=True)) == {"counter"}
    bob.refresh_from_db()
    assert bob.resident_id == BOB_ID  # the counter can now find Bob by his resident ID
    record = DataAccessRecord.objects.get(applicant=bob)
    assert (record.accessor, record.what) == (counter_clerk, DataAccessRecord.What.IDENTITY_CHECK)


def test_bad_input_is_explained_and_nothing_is_recorded(client, counter_clerk, bob):
    client.force_login(counter_clerk)
    not_seen = check(client, card_seen="")
    assert not_seen.status_code == 400 and "Check the identity card in person" in not_seen.content.decode()
    bad_id = check(client, resident_id="110105198001010010")
    assert bad_id.status_code == 400 and "There is a problem" in bad_id.content.decode()
    nobody = check(client, person="nobody@example.org")
    assert "No account uses" in nobody.content.decode()
    assert not VerifiedAttribute.objects.exists() and not DataAccessRecord.objects.exists()


def test_an_identity_held_by_another_account_is_refused(client, counter_clerk, alice, bob):
    alice.resident_id = VALID_ID
    alice.save(update_fields=["resident_id"])
    client.force_login(counter_clerk)
    response = check(client, resident_id=VALID_ID)
    assert "already the verified identity of another account" in response.content.decode()
    assert not VerifiedAttribute.objects.filter(user=bob).exists()
    # An account verified once cannot be checked as somebody else.
    assert check(client).status_code == 302
    other_id = "11010519900101001" + resident_id_check_character("11010519900101001")
    assert "already verified as another person" in check(client, resident_id=other_id).content.decode()


def test_citizens_and_strangers_cannot_check_identities(client, alice, bob):
    for person in (alice, bob):
        client.force_login(person)
        assert client.get(URL).status_code == 404
        assert check(client).status_code == 404
    assert not VerifiedAttribute.objects.exists()
