"""An organisation's legal representative (named by resident ID in the business register)
manages its representatives: adds verified people, removes them. Nobody else reaches the page."""

import pytest
from django.urls import reverse

from accounts.actions import verified_attribute_set
from accounts.models import Organisation

pytestmark = pytest.mark.django_db

ALICE_ID = "11010519491231002X"
BOB_ID = "110105197001010011"


@pytest.fixture
def tea_house(alice):
    verified_attribute_set(user=alice, element_key="person.id_number", value=ALICE_ID, source="eid")
    return Organisation.objects.create(
        name="Wang Family Tea House", registration_number="91110105MA01TEA001", legal_representative_id_number=ALICE_ID
    )


def page(tea_house) -> str:
    return reverse("accounts:organisation-representatives", args=[tea_house.pk])


def test_the_legal_representative_adds_a_verified_person(client, alice, bob, tea_house):
    verified_attribute_set(user=bob, element_key="person.id_number", value=BOB_ID, source="counter")
    client.force_login(alice)
    assert "Representatives of Wang Family Tea House" in client.get(reverse("portal:account")).content.decode()
    response = client.post(page(tea_house), {"login": bob.email, "resident_id": BOB_ID}, follow=True)
    assert "Bob" in response.content.decode() and "now represents Wang Family Tea House" in response.content.decode()
    assert list(tea_house.representatives.all()) == [bob]
    # Twice: refused with a message.
    response = client.post(page(tea_house), {"login": bob.username, "resident_id": BOB_ID})
    assert response.status_code == 400 and "already represents" in response.content.decode()
    # And removes him.
    client.post(reverse("accounts:organisation-representative-remove", args=[tea_house.pk, bob.pk]))
    assert not tea_house.representatives.exists()


def test_an_unverified_person_or_a_wrong_resident_id_is_refused(client, alice, bob, tea_house):
    client.force_login(alice)
    response = client.post(page(tea_house), {"login": bob.email, "resident_id": BOB_ID})
    assert response.status_code == 400
    assert "We found no person with a verified identity" in response.content.decode()
    verified_attribute_set(user=bob, element_key="person.id_number", value=BOB_ID, source="counter")
    response = client.post(page(tea_house), {"login": bob.email, "resident_id": ALICE_ID})
    assert response.status_code == 400
    assert not tea_house.representatives.exists()


def test_a_representative_or_a_stranger_cannot_manage_representatives(client, alice, bob, tea_house):
    tea_house.representatives.add(bob)
    client.force_login(bob)
    assert client.get(page(tea_house)).status_code == 404
    assert client.post(page(tea_house), {"login": "x", "resident_id": "y"}).status_code == 404
    remove = reverse("accounts:organisation-representative-remove", args=[tea_house.pk, bob.pk])
    assert client.post(remove).status_code == 404
    assert list(tea_house.representatives.all()) == [bob]


def test_without_a_verified_identity_nobody_leads_an_organisation(client, bob):
    Organisation.objects.create(name="Ghost Ltd", registration_number="91110105MA01GHOST1")
    client.force_login(bob)  # no verified resident ID: an empty register entry must not match
    assert client.get(reverse("accounts:organisation-representatives", args=[1])).status_code == 404
