"""The demo eID's claims: the chosen person and level ride in the grant from the authorize page
to the token endpoint (the grant's `claims`), and become the ID token's `sub`, `name`,
`resident_id` and `acr`."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from portal.demo_eid.registry import ACR, demo_person

ASSERTION_KEY = "onedoor_demo_eid"


class DemoEidValidator(OAuth2Validator):
    # Every claim below goes into the ID token, whatever the scope (the portal asks for them all).
    oidc_claim_scope = None

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        claims = request.claims if isinstance(request.claims, dict) else {}
        asserted = claims.get(ASSERTION_KEY) or {}
        person = demo_person(str(asserted.get("subject", "")))
        if person is None or asserted.get("level") not in ACR:
            return {}
        return {
            "sub": person.subject,
            "name": person.name,
            "resident_id": person.resident_id,
            "acr": ACR[asserted["level"]],
        }
