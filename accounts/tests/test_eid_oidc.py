"""National eID sign-in against OpenID Connect providers that are not our code.

The honest provider is oidc-provider-mock, its own process, over HTTP. Tokens no honest provider
issues (signed by another key, for another audience, expired) come from the small hostile
provider in tests/support/eid.py. Every refusal: a clear page (4xx), nobody signed in, one line
in the log.
"""

import logging

import pytest
import requests
from django.contrib.auth import SESSION_KEY

from accounts.assurance import SESSION_ASSURANCE_KEY
from accounts.eid.views import FLOW_KEY
from accounts.models import EidIdentity, User, VerifiedAttribute
from tests.support.eid import (
    CHEN_ID,
    CLIENT_ID,
    callback_path,
    eid_start,
    hostile_sign_in,
    mock_authorize,
    query_of,
    s256,
    with_query,
)

pytestmark = pytest.mark.django_db

SUBSTANTIAL = "urn:onedoor:eid:substantial"


def refusal_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "accounts.eid" and r.levelno >= logging.WARNING]


def assert_refused(response, caplog, *, words: str, status: int = 400) -> None:
    assert response.status_code == status
    assert words in response.content.decode()
    assert "You have not been signed in" in response.content.decode()
    assert SESSION_KEY not in response.wsgi_request.session
    lines = refusal_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "\n" not in lines[0].getMessage()


@pytest.fixture
def chen(eid_mock) -> str:
    return eid_mock.person("eid-chen", name="Chen Mei", resident_id=CHEN_ID, acr=SUBSTANTIAL)


def test_code_flow_with_pkce_signs_a_new_person_in_at_substantial(client, eid_mock, chen):
    authorization_url = eid_start(client, next_url="/services/")
    sent = query_of(authorization_url)
    flow = client.session[FLOW_KEY]
    assert authorization_url.startswith(f"{eid_mock.url}/oauth2/authorize?")
    assert sent["client_id"] == CLIENT_ID
    assert sent["response_type"] == "code"
    assert sent["code_challenge_method"] == "S256"
    assert sent["code_challenge"] == s256(flow["code_verifier"])  # the verifier never leaves the server
    assert sent["state"] == flow["state"] and sent["nonce"] == flow["nonce"]
    assert sent["acr_values"] == SUBSTANTIAL

    response = client.get(callback_path(mock_authorize(authorization_url, chen)))

    assert response.status_code == 302 and response["Location"] == "/services/"
    user = User.objects.get(pk=client.session[SESSION_KEY])
    assert user.display_name == "Chen Mei" and user.resident_id == CHEN_ID
    assert not user.has_usable_password()
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "substantial"
    assert client.session[SESSION_ASSURANCE_KEY]["methods"] == ["eid"]
    attributes = {a.element_key: a for a in VerifiedAttribute.objects.filter(user=user)}
    assert attributes["person.id_number"].value == CHEN_ID
    assert attributes["person.full_name"].value == "Chen Mei"
    assert {a.source for a in attributes.values()} == {VerifiedAttribute.Source.EID}
    assert all(a.verified_at is not None for a in attributes.values())
    link = EidIdentity.objects.get(user=user)
    assert (link.issuer, link.subject) == (eid_mock.url, chen)
    assert user.sign_ins.count() == 1
    assert FLOW_KEY not in client.session


def test_a_high_acr_gives_a_high_session(client, eid_mock):
    sub = eid_mock.person("eid-high", name="Chen Mei", resident_id=CHEN_ID, acr="urn:onedoor:eid:high")
    authorization_url = eid_start(client, level="high")
    assert query_of(authorization_url)["acr_values"] == "urn:onedoor:eid:high"
    client.get(callback_path(mock_authorize(authorization_url, sub)))
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "high"


@pytest.mark.second_factor_gate
def test_someone_with_a_second_factor_confirms_it_after_an_eid_sign_in(client, eid_mock, chen):
    from tests.support.second_factor import staff_device

    client.get(callback_path(mock_authorize(eid_start(client), chen)))
    user = User.objects.get(pk=client.session[SESSION_KEY])
    staff_device(user)  # a confirmed authenticator app
    client.post("/accounts/logout/")
    response = client.get(callback_path(mock_authorize(eid_start(client, next_url="/services/"), chen)))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/verify/?next=%2Fservices%2F")
    assert client.session[SESSION_KEY] == str(user.pk)
    # Until the factor is confirmed, the rest of the portal waits.
    assert client.get("/account/").status_code == 302


def test_the_next_sign_in_opens_the_same_account(client, eid_mock, chen):
    client.get(callback_path(mock_authorize(eid_start(client), chen)))
    first = client.session[SESSION_KEY]
    client.post("/accounts/logout/")
    client.get(callback_path(mock_authorize(eid_start(client), chen)))
    assert client.session[SESSION_KEY] == first
    assert User.objects.filter(resident_id=CHEN_ID).count() == 1


def test_a_wrong_state_is_refused(client, eid_mock, chen, caplog):
    callback = mock_authorize(eid_start(client), chen)
    response = client.get(callback_path(with_query(callback, state="forged-state")))
    assert_refused(response, caplog, words="does not belong to the sign-in you started")
    assert "state does not match" in refusal_lines(caplog)[0].getMessage()
    assert not User.objects.filter(resident_id=CHEN_ID).exists()


def test_a_callback_with_no_sign_in_started_is_refused(client, eid_mock, caplog):
    response = client.get("/accounts/eid/callback/?code=abc&state=xyz")
    assert_refused(response, caplog, words="no national eID sign-in in progress")


def test_a_wrong_nonce_is_refused(client, eid_mock, chen, caplog):
    # The provider is asked with another nonce than the one the session holds (a token minted
    # for another sign-in): its ID token's nonce does not match.
    authorization_url = with_query(eid_start(client), nonce="someone-elses-nonce")
    response = client.get(callback_path(mock_authorize(authorization_url, chen)))
    assert_refused(response, caplog, words="could not be trusted")
    assert "nonce" in refusal_lines(caplog)[0].getMessage()


def test_a_replayed_code_is_refused(client, eid_mock, chen, caplog):
    callback = mock_authorize(eid_start(client), chen)
    code = query_of(callback)["code"]
    assert client.get(callback_path(callback)).status_code == 302
    client.post("/accounts/logout/")
    caplog.clear()

    # A new sign-in, answered with the code already used: the provider will not exchange it twice.
    state = query_of(eid_start(client))["state"]
    response = client.get(f"/accounts/eid/callback/?code={code}&state={state}")
    assert_refused(response, caplog, words="expired or been used already")
    assert "invalid_grant" in refusal_lines(caplog)[0].getMessage()


def test_the_same_callback_twice_is_refused(client, eid_mock, chen, caplog):
    callback = mock_authorize(eid_start(client), chen)
    assert client.get(callback_path(callback)).status_code == 302
    client.post("/accounts/logout/")
    response = client.get(callback_path(callback))
    assert_refused(response, caplog, words="no national eID sign-in in progress")


def test_an_unknown_acr_is_refused(client, eid_mock, caplog):
    sub = eid_mock.person("eid-odd-acr", name="Chen Mei", resident_id=CHEN_ID, acr="urn:somewhere-else:loa:1")
    response = client.get(callback_path(mock_authorize(eid_start(client), sub)))
    assert_refused(response, caplog, words="level One Door does not know")
    assert not User.objects.filter(resident_id=CHEN_ID).exists()


def test_a_token_without_resident_id_is_refused(client, eid_mock, caplog):
    sub = eid_mock.person("eid-anonymous", name="Chen Mei", acr=SUBSTANTIAL)
    response = client.get(callback_path(mock_authorize(eid_start(client), sub)))
    assert_refused(response, caplog, words="did not give your name and resident ID number")


def test_a_person_who_cancels_at_the_provider_is_not_signed_in(client, eid_mock, caplog):
    authorization_url = eid_start(client)
    answer = requests.post(authorization_url, data={"action": "deny"}, allow_redirects=False, timeout=5)
    response = client.get(callback_path(answer.headers["Location"]))
    assert_refused(response, caplog, words="did not finish signing in")


def test_a_provider_that_does_not_answer_is_a_503_page(client, settings, caplog):
    from tests.support.eid import point_eid_at
    from tests.support.processes import free_port

    point_eid_at(settings, f"http://127.0.0.1:{free_port()}")
    response = client.get("/accounts/eid/login/?level=substantial")
    assert response.status_code == 503
    assert "The national eID is not answering" in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_an_unsafe_next_is_dropped(client, eid_mock, chen, next_url):
    response = client.get(callback_path(mock_authorize(eid_start(client, next_url=next_url), chen)))
    assert client.session[SESSION_KEY]
    assert response["Location"] == "/"  # home, not the other site


def test_a_bad_level_is_a_400_page(client, eid_mock):
    response = client.get("/accounts/eid/login/?level=ultra")
    assert response.status_code == 400
    assert "substantial or high" in response.content.decode()


# --- Tokens no honest provider issues ---------------------------------------------------------


def test_the_hostile_provider_honest_answer_signs_in(client, hostile_provider):
    response = hostile_sign_in(client)
    assert response.status_code == 302
    assert User.objects.get(pk=client.session[SESSION_KEY]).resident_id == CHEN_ID
    # client_secret_basic at the token endpoint, with the PKCE verifier
    sent = hostile_provider.token_requests[-1]
    assert sent["authorization"].startswith("Basic ")
    assert sent["code_verifier"]


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("other_key", "could not be trusted"),
        ("other_audience", "could not be trusted"),
        ("other_audience_with_azp", "could not be trusted"),
        ("wrong_nonce", "could not be trusted"),
        ("expired", "could not be trusted"),
        ("unknown_acr", "level One Door does not know"),
    ],
)
def test_hostile_id_tokens_are_refused(client, hostile_provider, caplog, mode, words):
    hostile_provider.mode = mode
    response = hostile_sign_in(client)
    assert_refused(response, caplog, words=words)
    assert not User.objects.filter(resident_id=CHEN_ID).exists()
    assert not EidIdentity.objects.exists()


@pytest.mark.parametrize("mode", ["other_audience", "other_audience_with_azp"])
def test_another_audience_is_named_in_the_log(client, hostile_provider, caplog, mode):
    hostile_provider.mode = mode
    hostile_sign_in(client)
    assert "'aud'" in refusal_lines(caplog)[0].getMessage()


def test_private_key_jwt_when_a_key_is_configured(client, hostile_provider, settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "client.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.EID_PRIVATE_KEY = str(path)
    assert hostile_sign_in(client).status_code == 302
    sent = hostile_provider.token_requests[-1]
    assert sent["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert sent["client_assertion"].count(".") == 2
    assert not sent["authorization"]
