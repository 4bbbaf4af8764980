"""National eID harnesses: an OpenID Connect provider that is not our code (oidc-provider-mock,
run as its own process), a small hostile provider for tokens no honest provider issues, the
Django-test-client side of the flow, and `eid_sign_in` for browser tests through the demo eID.

Notes on oidc-provider-mock 0.3.4 (read from its source): any client id is accepted; the
authorize page is a form posting `sub`; claims of a subject are set with PUT /users/<sub>
(non-standard ones such as `acr` and `resident_id` go into the ID token as they are); codes are
single use; it does not check PKCE (the demo eID and the hostile provider here do).
"""

import base64
import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from accounts.eid.client import metadata_forget
from tests.support.processes import free_port, wait_until

CLIENT_ID = "onedoor-test-client"
CLIENT_SECRET = "onedoor-test-secret"
ALICE_ID = "11010519491231002X"
CHEN_ID = "310104199207042561"


@dataclass
class MockProvider:
    """oidc-provider-mock running as its own process."""

    url: str
    process: subprocess.Popen

    def person(self, sub: str, **claims: object) -> str:
        """Sets the claims the provider asserts for `sub`; returns `sub`."""
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()
        return sub


@pytest.fixture(scope="session")
def oidc_provider_mock(tmp_path_factory) -> Iterator[MockProvider]:
    port = free_port()
    log = (tmp_path_factory.mktemp("oidc-provider-mock") / "provider.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, "oidc-provider-mock exited"
        try:
            return requests.get(f"{url}/.well-known/openid-configuration", timeout=1).ok
        except requests.RequestException:
            return False

    wait_until(answers, 30, message="oidc-provider-mock")
    yield MockProvider(url=url, process=process)
    process.terminate()
    process.wait(10)
    log.close()


def point_eid_at(settings, issuer: str, *, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> None:
    settings.EID_ENABLED = True
    settings.EID_ISSUER = issuer
    settings.EID_CLIENT_ID = client_id
    settings.EID_CLIENT_SECRET = secret
    settings.EID_PRIVATE_KEY = ""
    metadata_forget()


@pytest.fixture
def eid_mock(settings, oidc_provider_mock) -> MockProvider:
    """The portal's eID settings pointed at oidc-provider-mock."""
    point_eid_at(settings, oidc_provider_mock.url)
    return oidc_provider_mock


# --- The portal's side, through the Django test client ------------------------------------


def eid_start(client, *, level: str = "substantial", next_url: str = "") -> str:
    """GET eid-login; returns the provider's authorization URL it redirects to."""
    query = {"level": level, **({"next": next_url} if next_url else {})}
    response = client.get("/accounts/eid/login/?" + urlencode(query))
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {**query_of(url), **changes}
    return parts._replace(query=urlencode(query)).geturl()


def mock_authorize(authorization_url: str, sub: str) -> str:
    """Picks `sub` on oidc-provider-mock's authorize page; returns the callback URL it sends back."""
    response = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def callback_path(callback_url: str) -> str:
    parts = urlsplit(callback_url)
    return f"{parts.path}?{parts.query}"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# --- A hostile provider ----------------------------------------------------------------------


@dataclass
class HostileProvider:
    """A minimal provider in this process that answers discovery, keys, authorize and token the
    way a compromised or misconfigured provider might: `mode` picks what its ID token gets wrong
    ("good", "other_key", "other_audience", "other_audience_with_azp", "wrong_nonce",
    "expired", "unknown_acr"). It checks
    PKCE like an honest provider, and records the token requests it received."""

    mode: str = "good"
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "hostile-1"}))
    other_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "hostile-1"}))
    codes: dict[str, dict] = field(default_factory=dict)
    token_requests: list[dict] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def id_token(self, grant: dict) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "hostile-0001",
            "aud": grant["client_id"],
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            "name": "Chen Mei",
            "resident_id": CHEN_ID,
            "acr": "urn:onedoor:eid:substantial",
        }
        key = self.key
        if self.mode == "other_key":
            key = self.other_key  # same key id, another key: the signature cannot verify
        elif self.mode == "other_audience":
            claims["aud"] = "another-service"
        elif self.mode == "other_audience_with_azp":
            # aud is someone else; azp names the portal (Authlib alone would accept this)
            claims["aud"], claims["azp"] = "another-service", grant["client_id"]
        elif self.mode == "wrong_nonce":
            claims["nonce"] = "not-the-nonce-you-sent"
        elif self.mode == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif self.mode == "unknown_acr":
            claims["acr"] = "urn:somewhere-else:loa:1"
        return jwt.encode({"alg": "RS256", "kid": "hostile-1"}, claims, key)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _json(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.url,
                            "authorization_endpoint": f"{provider.url}/authorize",
                            "token_endpoint": f"{provider.url}/token",
                            "jwks_uri": f"{provider.url}/jwks",
                            "id_token_signing_alg_values_supported": ["RS256"],
                        }
                    )
                elif path == "/jwks":
                    self._json(KeySet([provider.key]).as_dict(private=False))
                elif path == "/authorize":
                    params = {k: v[0] for k, v in parse_qs(query).items()}
                    code = f"code-{len(provider.codes) + 1}"
                    provider.codes[code] = params
                    self.send_response(302)
                    location = params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]})
                    self.send_header("Location", location)
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append({**form, "authorization": self.headers.get("Authorization", "")})
                grant = provider.codes.pop(form.get("code", ""), None)
                if grant is None or s256(form.get("code_verifier", "")) != grant.get("code_challenge"):
                    self._json({"error": "invalid_grant"}, 400)
                    return
                self._json(
                    {"access_token": "hostile-access", "token_type": "Bearer", "id_token": provider.id_token(grant)}
                )

        return Handler


@pytest.fixture
def hostile_provider(settings) -> Iterator[HostileProvider]:
    provider = HostileProvider()
    server = ThreadingHTTPServer(("127.0.0.1", provider.port), provider.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    point_eid_at(settings, provider.url)
    yield provider
    server.shutdown()
    server.server_close()


def hostile_sign_in(client) -> object:
    """Runs the whole flow against the hostile provider; returns the callback's response."""
    location = requests.get(eid_start(client), allow_redirects=False, timeout=5).headers["Location"]
    return client.get(callback_path(location))


# --- Browser: through the demo eID -----------------------------------------------------------


@pytest.fixture
def demo_eid_live(settings, live_server):
    """The portal's eID settings pointed at the demo eID of the live server, with the portal
    registered there for the live server's callback."""
    from portal.demo_eid.application import demo_eid_application_ensure

    point_eid_at(
        settings,
        f"{live_server.url}/demo-eid",
        client_id=settings.DEMO_EID_CLIENT_ID,
        secret=settings.DEMO_EID_CLIENT_SECRET,
    )
    demo_eid_application_ensure(base_url=live_server.url)
    return live_server


def eid_sign_in(page, person_label: str, level: str = "substantial", *, start: bool = True) -> None:
    """On the sign-in page, "Sign in with national eID", then on the demo eID's page choose
    `person_label` (e.g. "Alice Wang") and `level` ("substantial" or "high"). With start=False
    the page is already at the demo eID (a step-up link followed by the test)."""
    if start:
        page.goto("/accounts/login/")
        page.get_by_role("button", name="Sign in with national eID").click()
    page.get_by_role("heading", name="Prove who you are").wait_for()
    page.get_by_label(person_label).check()
    page.get_by_label(level.capitalize(), exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("networkidle")
