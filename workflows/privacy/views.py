"""My data (/account/data/): download everything we hold about you, correct what you typed
yourself, and ask for your account to be erased. Each page is the signed-in person's own;
a download of anyone else's data is 404."""

import logging

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.actions import EmailTaken, profile_correct
from accounts.email_verification import email_verification_send
from accounts.limits import over_limit
from documents.storage import private_storage
from workflows.models import DataExport
from workflows.privacy.erasure import account_erase, erasure_plan
from workflows.privacy.export import data_export_request, export_for_owner
from workflows.privacy.forms import ErasureForm, ProfileForm
from workflows.progress.views import me

logger = logging.getLogger("workflows.privacy")

# Each download is built from scratch: a few a day is plenty.
EXPORTS_PER_DAY = 5


@login_required
@require_http_methods(["GET", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    user = me(request)
    if request.method == "POST":
        if over_limit(f"data-export:{user.pk}", limit=EXPORTS_PER_DAY, window=24 * 3600):
            logger.warning("data export refused: more than %s today (user %s)", EXPORTS_PER_DAY, user.pk)
            messages.error(request, _("You have asked for your data several times today. Try again tomorrow."))
        else:
            data_export_request(user=user)
            messages.success(request, _("We are preparing your data. This page shows when it is ready."))
        return redirect("workflows:privacy-data")
    export = DataExport.objects.filter(user=user).first()
    context = {
        "export": export,
        "preparing": export is not None and export.status in (DataExport.Status.PENDING, DataExport.Status.BUILDING),
        "downloadable": export is not None and export_for_owner(user=user, export_id=export.pk) is not None,
    }
    if request.headers.get("HX-Request"):
        # The progress panel alone, polled while the export is being prepared.
        return render(request, "workflows/privacy/_export_status.html", context)
    return render(request, "workflows/privacy/my_data.html", context)


@login_required
@require_GET
def export_download(request: HttpRequest, export_id: int) -> HttpResponseBase:
    user = me(request)
    export = export_for_owner(user=user, export_id=export_id)
    if export is None:
        if DataExport.objects.filter(pk=export_id).exclude(user=user).exists():
            logger.warning("data export refused: export %s is not user %s's", export_id, user.pk)
        raise Http404
    try:
        stored = private_storage.open(export.file.name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    stamp = timezone.localtime(export.ready_at or export.created_at).strftime("%Y%m%d")
    response = FileResponse(
        stored, as_attachment=True, filename=f"one-door-my-data-{stamp}.zip", content_type="application/zip"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = me(request)
    initial = {"display_name": user.display_name, "preferred_language": user.preferred_language, "email": user.email}
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = profile_correct(
                user=user,
                display_name=form.cleaned_data["display_name"],
                preferred_language=form.cleaned_data["preferred_language"],
                email=form.cleaned_data["email"],
            )
        except EmailTaken:
            form.add_error("email", _("Another account uses this e-mail address."))
        else:
            if "email" in changed and form.cleaned_data["email"]:
                user.refresh_from_db()
                email_verification_send(user=user)
                messages.success(request, _("Saved. Follow the link we sent to your new e-mail address."))
            else:
                messages.success(request, _("Your details are saved."))
            return redirect("workflows:privacy-data")
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/privacy/profile.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest) -> HttpResponse:
    user = me(request)
    if user.is_staff:
        # Staff accounts are closed by their department's administrator, with their memberships.
        raise Http404
    form = ErasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        record = account_erase(user=user)
        logger.info("account erased user=%s kept=%s", user.pk, len(record.kept))
        logout(request)
        messages.success(request, _("Your account is erased and closed."))
        return redirect("portal:home")
    context = {"form": form, "plan": erasure_plan(user=user)}
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/privacy/erase.html", context, status=status)
