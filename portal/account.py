"""My account: who the portal knows you are (verified attributes, with their source and date),
the organisations you represent, and what you can change yourself."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.assurance import Level, session_assurance, step_up_url
from accounts.models import VerifiedAttribute
from accounts.organisations import organisations_led_by
from accounts.requests import AuthenticatedRequest
from accounts.second_factor.selectors import second_factors
from accounts.sessions import current_key_hash, sign_ins_alive
from services.elements import mask_value
from services.models import DataElement

_UNKNOWN = DataElement(key="unknown.value", kind=DataElement.Kind.TEXT, sensitivity=DataElement.Sensitivity.SENSITIVE)


@login_required
@require_GET
def account(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    attributes = list(VerifiedAttribute.objects.filter(user=user).order_by("element_key"))
    elements = {e.key: e for e in DataElement.objects.filter(key__in=[a.element_key for a in attributes])}
    verified = [
        {
            "label": elements[a.element_key].label if a.element_key in elements else a.element_key,
            # Resident ID numbers and sensitive values masked, as everywhere on screen; a value
            # the dictionary no longer names is treated as sensitive.
            "value": mask_value(elements.get(a.element_key) or _UNKNOWN, a.value),
            "source": a.get_source_display(),
            "verified_at": a.verified_at,
        }
        for a in attributes
    ]
    here = current_key_hash(request)
    devices = [{"sign_in": s, "here": s.session_key_hash == here} for s in sign_ins_alive(user=user)]
    context = {
        "verified": verified,
        "organisations": list(user.organisations.order_by("name")),
        "led": list(organisations_led_by(user=user)),
        "devices": devices,
        "assurance": session_assurance(request),
        "eid_links": list(user.eid_identities.order_by("linked_at")),
        "eid_link_url": step_up_url(Level.SUBSTANTIAL, request.path),
        "factors": second_factors(user=user),
    }
    return render(request, "portal/account.html", context)
