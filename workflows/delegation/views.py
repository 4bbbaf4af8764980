"""My mandates (/account/mandates/): give one, see those given and received, accept, end, and
switch to acting for the person who gave one (and back). Thin: parse, call one action, render."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.people import verified_id_number
from accounts.requests import AuthenticatedRequest
from workflows.delegation import acting, selectors
from workflows.delegation.actions import MandateRefused, mandate_accept, mandate_end, mandate_grant
from workflows.delegation.forms import GrantForm
from workflows.models import Mandate

logger = logging.getLogger(__name__)


@login_required
@require_GET
def mandate_list(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request,
        "workflows/delegation/list.html",
        {
            "given": list(selectors.mandates_given(user=request.user)),
            "received": list(selectors.mandates_received(user=request.user)),
            "acting": acting.acting_mandate(request),
            "verified": verified_id_number(request.user) is not None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def mandate_new(request: AuthenticatedRequest) -> HttpResponse:
    form = GrantForm(request.POST if request.method == "POST" else None)
    refusal = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mandate = mandate_grant(
                principal=request.user,
                delegate_login=data["delegate_login"],
                delegate_resident_id=data["delegate_resident_id"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                may_submit=data["may_submit"] == "yes",
                all_services=data["scope"] == "all",
                services=data["services"] if data["scope"] == "chosen" else [],
                life_events=data["life_events"] if data["scope"] == "chosen" else [],
            )
        except MandateRefused as refused:
            refusal = refused.message
        else:
            messages.success(
                request,
                _("Mandate offered to %(name)s. It takes effect when they accept it.")
                % {"name": mandate.delegate.name},
            )
            return redirect("workflows:mandate-list")
    return render(
        request,
        "workflows/delegation/new.html",
        {"form": form, "refusal": refusal, "verified": verified_id_number(request.user) is not None},
        status=400 if request.method == "POST" else 200,
    )


def _mandate(request: AuthenticatedRequest, mandate_id: int) -> Mandate:
    try:
        return selectors.mandate_for(user=request.user, mandate_id=mandate_id)
    except Mandate.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def mandate_detail(request: AuthenticatedRequest, mandate_id: int) -> HttpResponse:
    mandate = _mandate(request, mandate_id)
    return render(
        request,
        "workflows/delegation/detail.html",
        {"mandate": mandate, "is_principal": mandate.principal_id == request.user.pk},
    )


@login_required
@require_POST
def mandate_accept_view(request: AuthenticatedRequest, mandate_id: int) -> HttpResponse:
    try:
        mandate = mandate_accept(delegate=request.user, mandate_id=mandate_id)
    except MandateRefused as refused:
        if not Mandate.objects.filter(pk=mandate_id, delegate=request.user).exists():
            raise Http404 from None
        messages.error(request, refused.message)
        return redirect("workflows:mandate-list")
    messages.success(request, _("You accepted the mandate of %(name)s.") % {"name": mandate.principal.name})
    return redirect("workflows:mandate-list")


@login_required
@require_POST
def mandate_end_view(request: AuthenticatedRequest, mandate_id: int) -> HttpResponse:
    try:
        mandate = mandate_end(user=request.user, mandate_id=mandate_id)
    except MandateRefused:
        raise Http404 from None
    current = acting.acting_mandate(request)
    if current is None or current.pk == mandate.pk:
        acting.acting_stop(request)
    messages.success(request, _("The mandate has ended."))
    return redirect("workflows:mandate-list")


@login_required
@require_POST
def act_for(request: AuthenticatedRequest, mandate_id: int) -> HttpResponse:
    if not Mandate.objects.filter(pk=mandate_id, delegate=request.user).exists():
        raise Http404
    try:
        mandate = acting.acting_start(request, mandate_id=mandate_id)
    except MandateRefused as refused:
        logger.info("acting refused user=%s mandate=%s", request.user.pk, mandate_id)
        messages.error(request, refused.message)
        return redirect("workflows:mandate-list")
    messages.success(request, _("You are now acting for %(name)s.") % {"name": mandate.principal.name})
    return redirect("workflows:apply-list")


@login_required
@require_POST
def act_as_myself(request: AuthenticatedRequest) -> HttpResponse:
    acting.acting_stop(request)
    messages.success(request, _("You are acting for yourself again."))
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("workflows:mandate-list")
