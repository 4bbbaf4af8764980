"""The demo national eID (django-oauth-toolkit's OIDC mode under /demo-eid/): its own flow through
the Django test client, PKCE enforced, and the portal's whole sign-in against it over HTTP on the
live server. It answers the OAuth request and never signs anybody in to the portal itself."""

import base64
import hashlib
import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import checks
from joserfc import jwt
from joserfc.jwk import KeySet

from accounts.assurance import SESSION_ASSURANCE_KEY
from accounts.models import User, VerifiedAttribute
from portal.demo_eid.application import demo_eid_application_ensure
from portal.demo_eid.checks import demo_eid_not_in_production
from tests.support.eid import callback_path, eid_start, query_of

pytestmark = pytest.mark.django_db

REDIRECT = "http://testserver/accounts/eid/callback/"
VERIFIER = "a-demo-verifier-that-is-long-enough-for-pkce-0123456789"


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture
def application(settings):
    return demo_eid_application_ensure(base_url="http://testserver")


def authorize_query(**changes: str) -> str:
    query = {
        "client_id": "onedoor-portal",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid profile",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": challenge(VERIFIER),
        "code_challenge_method": "S256",
        "acr_values": "urn:onedoor:eid:high",
        **changes,
    }
    return "/demo-eid/authorize/?" + urlencode(query)


def test_discovery_names_the_endpoints(client, application):
    data = client.get("/demo-eid/.well-known/openid-configuration").json()
    assert data["issuer"] == "http://testserver/demo-eid"
    assert data["authorization_endpoint"] == "http://testserver/demo-eid/authorize/"
    assert "S256" in data["code_challenge_methods_supported"]
    assert "RS256" in data["id_token_signing_alg_values_supported"]


def test_the_authorize_page_offers_people_and_the_asked_level(client, application):
    response = client.get(authorize_query())
    page = response.content.decode()
    assert response.status_code == 200
    assert "Alice Wang" in page and "Chen Mei" in page
    assert 'value="high" checked' in page


def test_a_bad_client_or_redirect_is_a_400_page(client, application):
    assert client.get(authorize_query(client_id="nobody")).status_code == 400
    assert client.get(authorize_query(redirect_uri="https://evil.example/cb")).status_code == 400


def test_no_person_chosen_is_a_clear_error(client, application):
    response = client.post(authorize_query(), {"action": "allow", "level": "substantial"})
    assert response.status_code == 400
    assert "Choose the person to sign in as" in response.content.decode()


def test_code_flow_gives_an_id_token_naming_the_person_and_level(client, application, settings):
    response = client.post(authorize_query(), {"action": "allow", "person": "demo-0003", "level": "high"})
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT)
    answer = query_of(response["Location"])
    assert answer["state"] == "s-1"
    assert SESSION_KEY not in client.session  # the demo eID signs nobody in to the portal

    token = client.post(
        "/demo-eid/token/",
        {"grant_type": "authorization_code", "code": answer["code"], "redirect_uri": REDIRECT,
         "code_verifier": VERIFIER},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(
            f"onedoor-portal:{settings.DEMO_EID_CLIENT_SECRET}".encode()).decode(),
    )  # fmt: skip
    assert token.status_code == 200, token.content
    keys = KeySet.import_key_set(client.get("/demo-eid/.well-known/jwks.json").json())
    claims = jwt.decode(json.loads(token.content)["id_token"], keys).claims
    assert claims["sub"] == "demo-0003"
    assert claims["name"] == "Chen Mei"
    assert claims["resident_id"] == "310104199207042561"
    assert claims["acr"] == "urn:onedoor:eid:high"
    assert claims["nonce"] == "n-1" and claims["aud"] == "onedoor-portal"
    assert claims["iss"] == "http://testserver/demo-eid"


def test_pkce_is_enforced(client, application, settings):
    response = client.post(authorize_query(), {"action": "allow", "person": "demo-0001", "level": "substantial"})
    code = query_of(response["Location"])["code"]
    token = client.post(
        "/demo-eid/token/",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
         "code_verifier": "another-verifier-that-is-also-long-enough-0123456789"},
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(
            f"onedoor-portal:{settings.DEMO_EID_CLIENT_SECRET}".encode()).decode(),
    )  # fmt: skip
    assert token.status_code == 400
    assert json.loads(token.content)["error"] == "invalid_grant"
    # And a request without a challenge is refused before anyone is asked.
    assert client.get(authorize_query(code_challenge="", code_challenge_method="")).status_code in (302, 400)


def test_cancel_goes_back_with_access_denied(client, application):
    response = client.post(authorize_query(), {"action": "cancel"})
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "access_denied"


def test_seed_is_idempotent_and_registers_both_loopback_names(application):
    again = demo_eid_application_ensure(base_url="http://testserver")
    assert again.pk == application.pk
    assert "http://localhost/accounts/eid/callback/" in again.redirect_uris


def test_deploy_check_refuses_the_demo_eid_in_production(settings):
    settings.PORTAL_ENV = "production"
    settings.DEMO_EID = True
    settings.EID_ISSUER = "http://127.0.0.1:8000/demo-eid"
    ids = {message.id for message in demo_eid_not_in_production()}
    assert ids == {"onedoor.E101", "onedoor.E102"}
    assert all(message.level == checks.ERROR for message in demo_eid_not_in_production())


@pytest.mark.django_db(transaction=True)
def test_the_portal_signs_in_through_the_demo_eid_over_http(client, demo_eid_live):
    """The whole flow on the live server: the portal's client reaches the demo eID over HTTP
    (discovery, token, keys) while the person's steps go through the test client (whose host,
    testserver, is where the callback is)."""
    demo_eid_application_ensure(base_url="http://testserver")
    authorization_url = eid_start(client, next_url="/account/")
    path = authorization_url.removeprefix(demo_eid_live.url)
    answer = client.post(path, {"action": "allow", "person": "demo-0003", "level": "substantial"})
    assert answer.status_code == 302
    response = client.get(callback_path(answer["Location"]))
    assert response.status_code == 302 and response["Location"] == "/account/"
    user = User.objects.get(pk=client.session[SESSION_KEY])
    assert user.resident_id == "310104199207042561"
    assert client.session[SESSION_ASSURANCE_KEY]["level"] == "substantial"
    assert VerifiedAttribute.objects.get(user=user, element_key="person.full_name").source == "eid"
