"""Assurance levels on the session: what each way of signing in proves, and that a step-up in the
same session only ever raises the level."""

import pytest
from django.test import RequestFactory

from accounts.assurance import Level, Method, assurance_record, session_assurance
from accounts.session_store import SessionStore


@pytest.fixture
def request_():
    request = RequestFactory().get("/")
    request.session = SessionStore()
    return request


def levels(request_, *methods: Method) -> Level:
    for method in methods:
        assurance_record(request_, method=method)
    return session_assurance(request_).level


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        ((), Level.LOW),
        ((Method.PASSWORD,), Level.LOW),
        ((Method.PASSWORD, Method.SECOND_FACTOR), Level.LOW),  # who it is was never checked
        ((Method.EID,), Level.SUBSTANTIAL),
        ((Method.EID, Method.SECOND_FACTOR), Level.HIGH),
        ((Method.SECOND_FACTOR, Method.EID), Level.HIGH),
        ((Method.PASSWORD, Method.COUNTER), Level.LOW),
        ((Method.PASSWORD, Method.COUNTER, Method.SECOND_FACTOR), Level.HIGH),
    ],
)
def test_what_each_way_of_signing_in_proves(request_, methods, expected):
    assert levels(request_, *methods) == expected
    assert session_assurance(request_).methods == tuple(dict.fromkeys(methods))


@pytest.mark.django_db
def test_an_eid_at_high_is_high_and_nothing_lowers_a_session(request_):
    assurance_record(request_, method=Method.EID, level=Level.HIGH)
    assert session_assurance(request_).level == Level.HIGH
    assurance_record(request_, method=Method.EID, level=Level.SUBSTANTIAL)
    assurance_record(request_, method=Method.PASSWORD)
    assert session_assurance(request_).level == Level.HIGH


@pytest.mark.django_db
def test_a_damaged_record_counts_as_low(request_):
    request_.session["assurance"] = {"level": "platinum", "methods": ["magic"]}
    assert session_assurance(request_).level == Level.LOW


def test_covers():
    assert Level.HIGH.covers("substantial") and Level.SUBSTANTIAL.covers(Level.LOW)
    assert not Level.LOW.covers(Level.SUBSTANTIAL) and not Level.SUBSTANTIAL.covers("high")


@pytest.mark.django_db
def test_a_password_sign_in_records_low_and_a_counter_checked_identity(client, alice, password):
    from accounts.models import VerifiedAttribute

    client.post("/accounts/login/", {"username": "alice", "password": password})
    assert client.session["assurance"]["level"] == "low"
    assert client.session["assurance"]["methods"] == ["password"]
    client.post("/accounts/logout/")
    VerifiedAttribute.objects.create(
        user=alice, element_key="person.id_number", value="110105198001010019", source="counter"
    )
    client.post("/accounts/login/", {"username": "alice", "password": password})
    assert client.session["assurance"]["methods"] == ["password", "counter"]
