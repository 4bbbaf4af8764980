"""The portal's OpenID Connect client for the national eID, built on Authlib.

Authorization code flow with PKCE (S256), `state`, `nonce` and `acr_values`; the ID token is
checked against the provider's published keys (signature, `iss`, `aud`, `exp`, `nonce`,
`at_hash`) and its `acr` must be one the settings map to an assurance level. The client
authenticates at the token endpoint with `client_secret_basic`, or with `private_key_jwt` when
EID_PRIVATE_KEY names a PEM file.

What the provider publishes (discovery and keys) is kept for a few minutes per issuer; a key id
we have not seen makes Authlib fetch the keys again (a provider rotating its key).

Authlib and joserfc are imported on the first eID sign-in a process handles, not with this module:
every page that offers the eID button imports it, and a web worker that never sees an eID
sign-in does without them.
"""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from accounts.assurance import Level
from lib.refusals import Refused

if TYPE_CHECKING:
    from authlib.integrations.django_client.apps import DjangoOAuth2App

METADATA_SECONDS = 300
_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}


class EidUnavailable(Exception):
    """The provider did not answer (or answered nonsense) in time: try again later."""


class EidRefused(Refused):
    """The provider's answer cannot be trusted or used; nobody is signed in.
    `reason` is a short code for the log line."""

    status_code = 400

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class EidStart:
    """What the sign-in keeps in the session until the provider sends the person back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class EidPerson:
    """The person the provider vouched for, at the level it asserted."""

    issuer: str
    subject: str
    full_name: str
    resident_id: str
    acr: str
    level: Level


def eid_enabled() -> bool:
    return bool(settings.EID_ENABLED and settings.EID_ISSUER and settings.EID_CLIENT_ID)


def acr_for_level(level: Level) -> str:
    """The `acr_values` asking the provider for `level` (the first value mapped to it)."""
    for acr, mapped in settings.EID_ACR.items():
        if mapped == level:
            return acr
    raise ValueError(f"no eID acr value is mapped to {level}")


def _metadata() -> dict[str, Any]:
    issuer = settings.EID_ISSUER
    cached = _metadata_cache.get(issuer)
    if cached and time.monotonic() - cached[0] < METADATA_SECONDS:
        return dict(cached[1])
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.EID_TIMEOUT_SECONDS)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as error:
        raise EidUnavailable(f"discovery failed: {error}") from error
    if not isinstance(metadata, dict) or not all(
        metadata.get(key) for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    ):
        raise EidUnavailable("discovery document incomplete")
    metadata["_loaded_at"] = time.time()  # Authlib then uses it as it is
    _metadata_cache[issuer] = (time.monotonic(), metadata)
    return dict(metadata)


def metadata_forget() -> None:
    """Forgets every provider's published metadata and keys (settings changed, tests)."""
    _metadata_cache.clear()


def _client() -> "DjangoOAuth2App":
    from authlib.integrations.django_client import OAuth
    from authlib.integrations.django_client.apps import DjangoOAuth2App
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    metadata = _metadata()
    client_kwargs: dict[str, Any] = {
        "scope": settings.EID_SCOPE,
        "code_challenge_method": "S256",
        "default_timeout": settings.EID_TIMEOUT_SECONDS,
    }
    secret: str = settings.EID_CLIENT_SECRET
    auth_methods = None
    if settings.EID_PRIVATE_KEY:
        secret = Path(settings.EID_PRIVATE_KEY).read_text()
        client_kwargs["token_endpoint_auth_method"] = PrivateKeyJWT.name
        auth_methods = [PrivateKeyJWT(metadata["token_endpoint"])]
    else:
        client_kwargs["token_endpoint_auth_method"] = "client_secret_basic"
    oauth = OAuth()
    oauth.register(
        "eid",
        client_id=settings.EID_CLIENT_ID,
        client_secret=secret,
        client_kwargs=client_kwargs,
        client_auth_methods=auth_methods,
        **metadata,
    )
    client = oauth.create_client("eid")
    assert isinstance(client, DjangoOAuth2App)
    return client


def eid_authorization_start(*, redirect_uri: str, level: Level) -> EidStart:
    """The provider's authorization URL for `level`, with fresh state, nonce and PKCE verifier."""
    from authlib.common.security import generate_token

    client = _client()
    found = client.create_authorization_url(
        redirect_uri,
        nonce=generate_token(24),
        code_verifier=generate_token(48),
        acr_values=acr_for_level(level),
    )
    return EidStart(url=found["url"], state=found["state"], nonce=found["nonce"], code_verifier=found["code_verifier"])


def eid_authorization_finish(*, redirect_uri: str, code: str, code_verifier: str, nonce: str) -> EidPerson:
    """Exchanges the code and checks the ID token; refuses anything it cannot trust."""
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError

    client = _client()
    try:
        token = client.fetch_access_token(redirect_uri=redirect_uri, code=code, code_verifier=code_verifier)
    except OAuthError as error:
        raise EidRefused(
            _("The national eID did not accept this sign-in. It may have expired or been used already."),
            reason=f"token endpoint refused: {error.error}",
        ) from error
    except requests.RequestException as error:
        raise EidUnavailable(f"token request failed: {error}") from error
    if "id_token" not in token:
        raise EidRefused(_("The national eID did not say who you are."), reason="no id_token in the token response")
    try:
        # Authlib's ID token checks accept another audience when `azp` names us; OpenID Connect
        # wants our client id in `aud` itself, so both are required here.
        options = {
            "iss": {"essential": True, "value": client.server_metadata["issuer"]},
            "aud": {"essential": True, "value": settings.EID_CLIENT_ID},
        }
        claims = client.parse_id_token(token, nonce=nonce, claims_options=options, leeway=60)
    except requests.RequestException as error:
        raise EidUnavailable(f"key set request failed: {error}") from error
    except (JoseError, ValueError) as error:
        raise EidRefused(
            _("The answer from the national eID could not be trusted, so you have not been signed in."),
            reason=f"id_token rejected: {type(error).__name__}: {error}",
        ) from error
    return _person(claims, issuer=client.server_metadata["issuer"])


def _person(claims: dict[str, Any], *, issuer: str) -> EidPerson:
    acr = str(claims.get("acr") or "")
    mapped = settings.EID_ACR.get(acr)
    if mapped not in Level.values:
        raise EidRefused(
            _("The national eID signed you in at a level One Door does not know, so you have not been signed in."),
            reason=f"unknown acr {acr!r}",
        )
    resident_id = str(claims.get(settings.EID_RESIDENT_ID_CLAIM) or "").strip().upper()
    full_name = " ".join(str(claims.get("name") or "").split())
    if not resident_id or not full_name:
        raise EidRefused(
            _("The national eID did not give your name and resident ID number."),
            reason="name or resident ID claim missing",
        )
    return EidPerson(
        issuer=issuer,
        subject=str(claims["sub"]),
        full_name=full_name,
        resident_id=resident_id,
        acr=acr,
        level=Level(mapped),
    )
