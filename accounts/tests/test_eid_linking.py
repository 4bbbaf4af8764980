"""Which account a national eID sign-in opens, through the real flow (oidc-provider-mock):
an existing account by its verified resident ID, a signed-in self-registered person stepping
up, and the refusals when the signed-in account is someone else."""

import logging

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.assurance import SESSION_ASSURANCE_KEY
from accounts.models import EidIdentity, User, VerifiedAttribute
from accounts.tests.factories import UserFactory
from tests.support.eid import ALICE_ID, CHEN_ID, callback_path, eid_start, mock_authorize

pytestmark = pytest.mark.django_db

SUBSTANTIAL = "urn:onedoor:eid:substantial"


def verify(user: User, resident_id: str, name: str) -> None:
    VerifiedAttribute.objects.create(user=user, element_key="person.id_number", value=resident_id, source="counter")
    VerifiedAttribute.objects.create(user=user, element_key="person.full_name", value=name, source="counter")
    user.resident_id = resident_id
    user.save(update_fields=["resident_id"])


@pytest.fixture
def alice_eid(eid_mock) -> str:
    return eid_mock.person("eid-alice", name="Alice Wang", resident_id=ALICE_ID, acr=SUBSTANTIAL)


@pytest.fixture
def chen_eid(eid_mock) -> str:
    return eid_mock.person("eid-chen", name="Chen Mei", resident_id=CHEN_ID, acr=SUBSTANTIAL)


def sign_in(client, sub: str):
    return client.get(callback_path(mock_authorize(eid_start(client), sub)))


def test_an_existing_account_is_found_by_its_verified_resident_id(client, alice, alice_eid):
    verify(alice, ALICE_ID, "Alice Wang")
    response = sign_in(client, alice_eid)
    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == alice.pk
    assert EidIdentity.objects.get(subject=alice_eid).user == alice
    # Her identity is now verified by the eID, with its time.
    attribute = VerifiedAttribute.objects.get(user=alice, element_key="person.id_number")
    assert attribute.source == VerifiedAttribute.Source.EID and attribute.value == ALICE_ID
    assert User.objects.filter(resident_id=ALICE_ID).count() == 1


def test_a_signed_in_self_registered_person_steps_up_and_keeps_the_session(client, bob, chen_eid):
    client.force_login(bob)
    session_key = client.session.session_key
    response = sign_in(client, chen_eid)
    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == bob.pk
    assert client.session.session_key == session_key  # the same session, now substantial
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "substantial"
    bob.refresh_from_db()
    assert bob.resident_id == CHEN_ID
    assert VerifiedAttribute.objects.get(user=bob, element_key="person.full_name").value == "Chen Mei"
    assert EidIdentity.objects.get(subject=chen_eid).user == bob


def test_refused_when_the_signed_in_account_is_verified_as_someone_else(client, alice, chen_eid, caplog):
    verify(alice, ALICE_ID, "Alice Wang")
    client.force_login(alice)
    response = sign_in(client, chen_eid)
    assert response.status_code == 400
    assert "verified as another person" in response.content.decode()
    assert int(client.session[SESSION_KEY]) == alice.pk  # still Alice, unchanged
    assert SESSION_ASSURANCE_KEY not in client.session
    assert not EidIdentity.objects.exists()
    assert VerifiedAttribute.objects.get(user=alice, element_key="person.id_number").value == ALICE_ID
    lines = [r for r in caplog.records if r.name == "accounts.eid" and r.levelno >= logging.WARNING]
    assert len(lines) == 1


def test_refused_when_the_resident_id_is_another_accounts_identity(client, alice, bob, alice_eid):
    # Bob (no verified identity) is signed in; the eID person is Alice, who has her own account.
    verify(alice, ALICE_ID, "Alice Wang")
    client.force_login(bob)
    response = sign_in(client, alice_eid)
    assert response.status_code == 400
    assert "already the verified identity of another One Door account" in response.content.decode()
    assert int(client.session[SESSION_KEY]) == bob.pk
    bob.refresh_from_db()
    assert bob.resident_id == ""
    assert not VerifiedAttribute.objects.filter(user=bob).exists()


def test_the_same_person_signed_in_keeps_their_session(client, alice, alice_eid):
    verify(alice, ALICE_ID, "Alice Wang")
    client.force_login(alice)
    before = alice.sign_ins.count()
    assert sign_in(client, alice_eid).status_code == 302
    assert int(client.session[SESSION_KEY]) == alice.pk
    assert alice.sign_ins.count() == before  # the same device, not a new sign-in
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "substantial"


def test_a_suspended_account_is_not_opened(client, alice_eid):
    holder = UserFactory(username="suspended", is_active=False)
    verify(holder, ALICE_ID, "Alice Wang")
    response = sign_in(client, alice_eid)
    assert response.status_code == 400
    assert SESSION_KEY not in client.session
