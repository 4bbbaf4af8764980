"""Sign in with the national eID: off to the provider, and back.

Every refusal of the callback (a forged or stale `state`, a code the provider will not exchange
again, an ID token that fails its checks, an account conflict) answers a clear page, signs
nobody in and is logged on one line. A provider that does not answer is a 503 page.
"""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.assurance import Level, Method, assurance_record
from accounts.eid.client import (
    EidRefused,
    EidUnavailable,
    eid_authorization_finish,
    eid_authorization_start,
    eid_enabled,
)
from accounts.eid.linking import eid_identity_sign_in
from accounts.models import User
from accounts.second_factor.gate import PENDING_KEY
from accounts.second_factor.selectors import has_second_factor
from accounts.sessions import sign_in_record

logger = logging.getLogger("accounts.eid")

FLOW_KEY = "eid_flow"
# A person has this long at the provider before the callback is refused as stale.
FLOW_SECONDS = 600
LEVELS = (Level.SUBSTANTIAL, Level.HIGH)


def _safe_next(request: HttpRequest, candidate: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if candidate and allowed else ""


def _unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.warning("eid provider unavailable: %s", error)
    return render(request, "accounts/eid_unavailable.html", status=503)


def _refused(request: HttpRequest, refused: EidRefused) -> HttpResponse:
    user = request.user.pk if request.user.is_authenticated else "-"
    logger.warning(
        "eid sign-in refused: %s (signed-in user %s, ip %s)", refused.reason, user, request.META.get("REMOTE_ADDR")
    )
    return render(request, "accounts/eid_refused.html", {"message": refused.message}, status=refused.status_code)


@require_GET
def eid_login(request: HttpRequest) -> HttpResponse:
    """GET ?level=substantial|high&next=<local URL>: off to the provider."""
    if not eid_enabled():
        return render(request, "accounts/eid_unavailable.html", {"switched_off": True}, status=404)
    level = request.GET.get("level") or Level.SUBSTANTIAL
    if level not in LEVELS:
        return render(
            request,
            "accounts/eid_refused.html",
            {"message": _("Choose the level to sign in at: substantial or high.")},
            status=400,
        )
    redirect_uri = request.build_absolute_uri(reverse("accounts:eid-callback"))
    try:
        start = eid_authorization_start(redirect_uri=redirect_uri, level=Level(level))
    except EidUnavailable as error:
        return _unavailable(request, error)
    request.session[FLOW_KEY] = {
        "state": start.state,
        "nonce": start.nonce,
        "code_verifier": start.code_verifier,
        "redirect_uri": redirect_uri,
        "next": _safe_next(request, request.GET.get("next", "")),
        "level": str(level),
        "started": int(time.time()),
    }
    return redirect(start.url)


@require_GET
def eid_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the person back here with a code (or an error)."""
    # The flow is used once, whatever happens next: a second callback finds nothing.
    flow = request.session.pop(FLOW_KEY, None)
    try:
        if not flow:
            raise EidRefused(
                _("There is no national eID sign-in in progress. Start again from the sign-in page."),
                reason="no sign-in in progress in this session",
            )
        if request.GET.get("error"):
            # Cancelled or refused at the provider: no code, so nothing to check it against
            # (some providers leave `state` out of an error).
            raise EidRefused(
                _("You did not finish signing in with your national eID."),
                reason=f"provider answered error {request.GET.get('error', '')[:50]!r}",
            )
        if not constant_time_compare(request.GET.get("state", ""), flow["state"]):
            raise EidRefused(
                _("This answer does not belong to the sign-in you started. Start again from the sign-in page."),
                reason="state does not match",
            )
        if time.time() - flow["started"] > FLOW_SECONDS:
            raise EidRefused(_("The sign-in took too long. Start again."), reason="sign-in started too long ago")
        code = request.GET.get("code", "")
        if not code:
            raise EidRefused(_("The national eID did not send a sign-in code."), reason="no code")
        person = eid_authorization_finish(
            redirect_uri=flow["redirect_uri"], code=code, code_verifier=flow["code_verifier"], nonce=flow["nonce"]
        )
        signed_in = request.user if isinstance(request.user, User) and request.user.is_authenticated else None
        user = eid_identity_sign_in(person=person, signed_in=signed_in)
    except EidRefused as refused:
        return _refused(request, refused)
    except EidUnavailable as error:
        return _unavailable(request, error)

    if signed_in is None or signed_in.pk != user.pk:
        login(request, user, backend="accounts.backends.UsernameOrEmailBackend")
        sign_in_record(request=request, user=user)
    assurance_record(request, method=Method.EID, level=person.level)
    logger.info("eid sign-in: user %s at %s (%s)", user.pk, person.level, person.acr)
    messages.success(request, _("You are signed in with your national eID."))
    target = flow["next"] or settings.LOGIN_REDIRECT_URL
    if has_second_factor(user=user) and not getattr(request.user, "is_verified", lambda: False)():
        # Someone who set up a second factor confirms it after an eID sign-in too.
        request.session[PENDING_KEY] = True
        return redirect(f"{reverse('accounts:verify')}?{urlencode({'next': target})}")
    return redirect(target)
