"""`manage.py check --deploy`: the demo national eID must not run in production, and a real
provider must be reached over HTTPS."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def demo_eid_not_in_production(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    if settings.PORTAL_ENV == "production" and settings.DEMO_EID:
        found.append(
            Error(
                "DEMO_EID is on: the demo national eID vouches for made-up people.",
                hint="Unset DEMO_EID in production and point EID_ISSUER at the real provider.",
                id="onedoor.E101",
            )
        )
    issuer = settings.EID_ISSUER
    if settings.PORTAL_ENV == "production" and issuer and not issuer.startswith("https://"):
        found.append(Error("EID_ISSUER is not an https:// URL.", id="onedoor.E102"))
    return found
