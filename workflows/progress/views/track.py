"""Following an application without an account (a walk-in filed for at the counter): the
application number plus the last four characters of the resident ID and the date of birth show
its status and dates, nothing else. Rate-limited per address and per application number, so the
four characters cannot be guessed."""

import datetime
import logging

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.limits import over_limit
from workflows.models import Application

logger = logging.getLogger("workflows.progress.track")

TRIES_PER_ADDRESS = 20
TRIES_PER_NUMBER = 5
WINDOW = 15 * 60


class TrackForm(forms.Form):
    number = forms.CharField(
        label=_("Application number"),
        help_text=_("As on your printed reference or text message, for example 2026-MKT-000123."),
        max_length=32,
        error_messages={"required": _("Enter the application number.")},
    )
    id_last4 = forms.RegexField(
        label=_("Last 4 characters of your resident ID number"),
        regex=r"^[0-9]{3}[0-9Xx]$",
        max_length=4,
        error_messages={
            "required": _("Enter the last 4 characters of your resident ID number."),
            "invalid": _("Enter the last 4 characters of your resident ID number, like 002X."),
        },
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example, 1992-07-04."),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("Enter your date of birth."), "invalid": _("Enter a date like 1992-07-04.")},
    )


def _born_on(resident_id: str) -> datetime.date | None:
    """The date of birth a resident ID number carries (characters 7 to 14)."""
    digits = resident_id[6:14]
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def tracked_application(*, number: str, id_last4: str, date_of_birth: datetime.date) -> Application | None:
    application = (
        Application.objects.select_related("service", "applicant").filter(number__iexact=number.strip()).first()
    )
    if application is None:
        return None
    resident_id = application.applicant.resident_id.upper()
    if len(resident_id) != 18 or resident_id[-4:] != id_last4.upper() or _born_on(resident_id) != date_of_birth:
        return None
    return application


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(
        request.POST if request.method == "POST" else None, initial={"number": request.GET.get("number", "")[:32]}
    )
    context: dict[str, object] = {"form": form, "application": None, "refused": ""}
    status = 200
    if request.method == "POST" and form.is_valid():
        address = request.META.get("REMOTE_ADDR", "")
        number = form.cleaned_data["number"].strip().upper()
        if over_limit(f"track:address:{address}", limit=TRIES_PER_ADDRESS, window=WINDOW) or over_limit(
            f"track:number:{number}", limit=TRIES_PER_NUMBER, window=WINDOW
        ):
            logger.warning("tracking refused: too many tries (ip %s, number %s)", address, number)
            context["refused"] = _("Too many tries. Wait 15 minutes, then try again.")
            return render(request, "workflows/progress/track.html", context, status=429)
        application = tracked_application(
            number=number, id_last4=form.cleaned_data["id_last4"], date_of_birth=form.cleaned_data["date_of_birth"]
        )
        if application is None:
            logger.info("tracking refused: details do not match (ip %s, number %s)", address, number)
            context["refused"] = _(
                "We could not find an application with these details. Check the number, the last 4 characters "
                "of your resident ID number and your date of birth."
            )
            status = 400
        else:
            context["application"] = application
    elif request.method == "POST":
        status = 400
    return render(request, "workflows/progress/track.html", context, status=status)
