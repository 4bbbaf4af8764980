"""The person's offer: what is offered and why, the prefilled answers, and one button to accept
(or to decline; or, granted without a request, to opt out). Thin: parse, call one action, redirect."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.assurance import session_assurance
from accounts.models import User
from lib.refusals import Refused
from workflows.offers import actions, selectors


def _me(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
@require_GET
def offer(request: HttpRequest, offer_id: int) -> HttpResponse:
    found = selectors.offer_for_person(person=_me(request), offer_id=offer_id)
    return render(
        request,
        "workflows/offers/offer.html",
        {
            "offer": found,
            "answers": selectors.offer_answers(found),
            "applications": selectors.offer_applications(found),
        },
    )


@login_required
@require_POST
def accept(request: HttpRequest, offer_id: int) -> HttpResponse:
    try:
        accepted = actions.offer_accept(
            person=_me(request), offer_id=offer_id, assurance=session_assurance(request).level
        )
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("workflows:offer", offer_id)
    messages.success(request, _("Thank you. Your application is submitted."))
    return redirect("workflows:apply-receipt", accepted.group_id)


@login_required
@require_POST
def decline(request: HttpRequest, offer_id: int) -> HttpResponse:
    try:
        actions.offer_decline(person=_me(request), offer_id=offer_id)
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("You declined the offer. We will not offer it again for this event."))
    return redirect("workflows:offer", offer_id)


@login_required
@require_POST
def opt_out(request: HttpRequest, offer_id: int) -> HttpResponse:
    try:
        actions.offer_opt_out(person=_me(request), offer_id=offer_id)
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("You opted out. The application made for you is withdrawn."))
    return redirect("workflows:offer", offer_id)
