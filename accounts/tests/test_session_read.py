"""A signed-in request reads its session and its person in one statement
(accounts/session_store.py), and is signed in exactly when Django would sign it in: the session's
data names the person, the session hash is checked, an inactive or deleted person is nobody."""

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Session, User

pytestmark = pytest.mark.django_db

DRAFTS = "/api/drafts/"  # a cheap signed-in API: 200 for a person, 403 for nobody


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def person_of(client: Client) -> User | None:
    """Who the portal takes the request's sender for (None: nobody)."""
    user = client.get(DRAFTS).wsgi_request.user
    return user if user.is_authenticated else None


def session_and_person_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries if '"accounts_session"' in q["sql"] or '"accounts_user"' in q["sql"]]


def test_a_signed_in_request_reads_its_session_and_person_in_one_statement(alice):
    client = signed_in(alice)
    client.get(DRAFTS)  # the statement is compiled on first use
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DRAFTS)
    assert response.status_code == 200 and response.wsgi_request.user == alice
    [read] = session_and_person_reads(queries)
    assert 'FROM "accounts_session" LEFT OUTER JOIN "accounts_user"' in read


def test_the_session_row_names_the_person_signed_in_on_it(client, alice, password):
    client.get(reverse("accounts:login"))
    client.session.save()
    assert Session.objects.get(pk=client.session.session_key).user is None  # nobody yet
    client.post(reverse("accounts:login"), {"username": "alice", "password": password})
    assert Session.objects.get(pk=client.session.session_key).user == alice
    assert alice.sessions.count() == 1


def test_a_session_of_a_person_signs_in_that_person_only(alice, bob):
    alices, bobs = signed_in(alice), signed_in(bob)
    assert person_of(alices) == alice
    assert person_of(bobs) == bob
    # Even if the column named someone else, the session's data decides who is signed in.
    Session.objects.filter(pk=alices.session.session_key).update(user=bob)
    assert person_of(alices) == alice
    assert person_of(bobs) == bob


def test_a_session_whose_row_does_not_name_its_person_still_signs_them_in(alice):
    client = signed_in(alice)
    client.get(DRAFTS)  # the first request records the sign-in time: the session is saved
    Session.objects.filter(pk=client.session.session_key).update(user=None)
    with CaptureQueriesContext(connection) as queries:
        assert person_of(client) == alice
    assert len(session_and_person_reads(queries)) == 2  # the session, then the person by its id


def test_a_deactivated_persons_session_signs_nobody_in(alice):
    client = signed_in(alice)
    assert client.get(DRAFTS).status_code == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get(DRAFTS).status_code == 403
    assert person_of(client) is None


def test_a_changed_password_signs_the_session_out(alice):
    client = signed_in(alice)
    key = client.session.session_key
    assert person_of(client) == alice
    alice.set_password("another-long-passphrase-31")
    alice.save(update_fields=["password"])
    assert client.get(DRAFTS).status_code == 403
    assert not Session.objects.filter(pk=key).exists()  # ended on the server, as Django does


def test_a_deleted_persons_session_signs_nobody_in(alice, bob):
    alices, bobs = signed_in(alice), signed_in(bob)
    key = alices.session.session_key
    alice.delete()
    assert not Session.objects.filter(pk=key).exists()
    assert person_of(alices) is None
    assert person_of(bobs) == bob


def test_a_person_deleted_outside_the_orm_leaves_a_session_that_signs_nobody_in():
    carol = User.objects.create_user(username="carol", password="carol-long-passphrase-8")
    client = signed_in(carol)
    with connection.cursor() as cursor:  # a hand-made SQL fix: the session row stays behind
        cursor.execute('DELETE FROM "accounts_user" WHERE "id" = %s', [carol.pk])
    assert Session.objects.filter(pk=client.session.session_key).exists()
    assert person_of(client) is None


def test_a_session_made_before_the_secret_key_changed_stays_signed_in_on_a_new_key(alice):
    with override_settings(SECRET_KEY="an-old-secret-key-" + "x" * 40):
        client = signed_in(alice)
        old_key = client.session.session_key
    with override_settings(
        SECRET_KEY="a-new-secret-key-" + "y" * 40, SECRET_KEY_FALLBACKS=["an-old-secret-key-" + "x" * 40]
    ):
        assert person_of(client) == alice
        new_key = client.cookies["sessionid"].value
        assert new_key != old_key  # Django cycles the key when a fallback secret verified it
        assert Session.objects.get(pk=new_key).user == alice
        assert person_of(client) == alice
    with override_settings(SECRET_KEY="a-third-secret-key-" + "z" * 40):
        assert person_of(client) is None  # no secret verifies the session any more
