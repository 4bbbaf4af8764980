"""My account: who the portal knows you are (verified attributes, with their source and date),
the organisations you represent, and what you can change yourself."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import VerifiedAttribute
from accounts.requests import AuthenticatedRequest
from accounts.sessions import current_key_hash, sign_ins_alive
from services.models import DataElement


def masked(key: str, value: Any) -> str:
    """A resident ID shows its first 6 and last 4 characters only, as on the clerk's queue."""
    text = str(value)
    if key == "person.id_number" and len(text) > 10:
        return f"{text[:6]}{'*' * (len(text) - 10)}{text[-4:]}"
    return text


@login_required
@require_GET
def account(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    attributes = list(VerifiedAttribute.objects.filter(user=user).order_by("element_key"))
    elements = {e.key: e for e in DataElement.objects.filter(key__in=[a.element_key for a in attributes])}
    verified = [
        {
            "label": elements[a.element_key].label if a.element_key in elements else a.element_key,
            "value": masked(a.element_key, a.value),
            "source": a.get_source_display(),
            "verified_at": a.verified_at,
        }
        for a in attributes
    ]
    here = current_key_hash(request)
    devices = [{"sign_in": s, "here": s.session_key_hash == here} for s in sign_ins_alive(user=user)]
    context = {"verified": verified, "organisations": list(user.organisations.order_by("name")), "devices": devices}
    return render(request, "portal/account.html", context)
