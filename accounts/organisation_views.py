"""The legal representative's page of an organisation's representatives: add and remove them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import organisations
from accounts.requests import AuthenticatedRequest


class RepresentativeForm(forms.Form):
    login = forms.CharField(
        label=gettext_lazy("Their e-mail address or log-in name"),
        max_length=254,
        error_messages={"required": gettext_lazy("Enter their e-mail address or log-in name.")},
    )
    resident_id = forms.CharField(
        label=gettext_lazy("Their resident ID number"),
        help_text=gettext_lazy("Both must match their verified identity."),
        max_length=18,
        error_messages={"required": gettext_lazy("Enter their resident ID number.")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def representatives(request: AuthenticatedRequest, organisation_id: int) -> HttpResponse:
    organisation = organisations.organisation_led_by(user=request.user, organisation_id=organisation_id)
    form = RepresentativeForm(request.POST if request.method == "POST" else None)
    refusal = ""
    if request.method == "POST" and form.is_valid():
        try:
            person = organisations.representative_add(
                legal_representative=request.user,
                organisation_id=organisation.pk,
                login=form.cleaned_data["login"],
                resident_id=form.cleaned_data["resident_id"],
            )
        except organisations.RepresentativeRefused as refused:
            refusal = refused.message
        else:
            messages.success(
                request,
                _("%(person)s now represents %(name)s.") % {"person": person.name, "name": organisation.name},
            )
            return redirect("accounts:organisation-representatives", organisation.pk)
    return render(
        request,
        "accounts/organisation_representatives.html",
        {
            "organisation": organisation,
            "representatives": list(organisation.representatives.order_by("display_name", "username")),
            "form": form,
            "refusal": refusal,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def representative_remove(request: AuthenticatedRequest, organisation_id: int, user_id: int) -> HttpResponse:
    person = organisations.representative_remove(
        legal_representative=request.user, organisation_id=organisation_id, user_id=user_id
    )
    messages.success(request, _("%(person)s no longer represents the organisation.") % {"person": person.name})
    return redirect("accounts:organisation-representatives", organisation_id)
