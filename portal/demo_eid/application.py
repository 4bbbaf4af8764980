"""The portal's registration at the demo eID (seed_demo; tests)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from oauth2_provider.models import get_application_model

# The demo eID's own resource owner: every grant needs one. It is not a person (never active,
# no password); the person the eID vouches for is in the grant.
SERVICE_USERNAME = "demo-national-eid"


def demo_eid_service_user():
    user, created = get_user_model().objects.get_or_create(
        username=SERVICE_USERNAME, defaults={"display_name": "Demo national eID", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def demo_eid_redirect_uris(base_url: str) -> list[str]:
    """The callback on `base_url`, under both 127.0.0.1 and localhost on the same port."""
    parts = urlsplit(base_url)
    path = reverse("accounts:eid-callback")
    hosts = {parts.hostname or "127.0.0.1", "127.0.0.1", "localhost"}
    port = f":{parts.port}" if parts.port else ""
    return sorted(f"{parts.scheme}://{host}{port}{path}" for host in hosts)


@transaction.atomic
def demo_eid_application_ensure(*, base_url: str | None = None):
    """The portal as a client of the demo eID, with the client id and secret the development
    settings use; running it again only updates the redirect URIs."""
    application_model = get_application_model()
    uris = demo_eid_redirect_uris(base_url or settings.PUBLIC_BASE_URL)
    application, created = application_model.objects.get_or_create(
        client_id=settings.DEMO_EID_CLIENT_ID,
        defaults={
            "name": "One Door",
            "client_type": application_model.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": application_model.GRANT_AUTHORIZATION_CODE,
            "algorithm": application_model.RS256_ALGORITHM,
            "client_secret": settings.DEMO_EID_CLIENT_SECRET,
            "redirect_uris": " ".join(uris),
            "skip_authorization": False,
        },
    )
    if not created:
        known = set(application.redirect_uris.split())
        if not set(uris) <= known:
            application.redirect_uris = " ".join(sorted(known | set(uris)))
            application.save(update_fields=["redirect_uris"])
    return application
