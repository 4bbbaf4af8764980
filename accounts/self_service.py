"""An account a person runs themselves: changing the password, and resetting a forgotten one by
an e-mail link (the account page itself is portal's `account`, which also reads the catalogue).

Django's own views do the security-critical parts (one-time reset tokens that expire after
PASSWORD_RESET_TIMEOUT and stop working once the password changes; the same answer whether or
not an address has an account; other sessions end when a password changes). This module adds
the portal's pages, a rate limit on reset e-mails, and one log line per reset asked.
"""

import hashlib
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.email_verification import LinkRefused, email_verification_send, email_verify, user_for_token
from accounts.limits import over_limit
from accounts.requests import AuthenticatedRequest
from accounts.sessions import current_key_hash, sign_ins_keep_only, sign_out_everywhere_else

logger = logging.getLogger("accounts.security")

# Reset e-mails: at most this many per address, and per client address, in RESET_WINDOW seconds.
RESET_PER_ADDRESS = 3
RESET_PER_CLIENT = 10
RESET_WINDOW = 3600


class PasswordChange(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("portal:account")

    def form_valid(self, form: Any) -> HttpResponse:
        before = current_key_hash(self.request)
        response = super().form_valid(form)  # keeps this session (with a new key); every other one ends
        sign_ins_keep_only(request=self.request, user=self.request.user, key_hash_before=before)  # type: ignore[arg-type]
        messages.success(self.request, _("Your password has been changed. You were signed out everywhere else."))
        logger.info("password changed user=%s", self.request.user.pk)
        return response


class PasswordReset(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-sent")

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        address = hashlib.sha256(email.encode()).hexdigest()[:32]
        client = self.request.META.get("REMOTE_ADDR", "")
        limited = over_limit(f"reset:address:{address}", limit=RESET_PER_ADDRESS, window=RESET_WINDOW) or over_limit(
            f"reset:client:{client}", limit=RESET_PER_CLIENT, window=RESET_WINDOW
        )
        # One line for the operator, never the address itself.
        logger.info("password reset asked address=%s client=%s limited=%s", address[:12], client, limited)
        if limited:
            # The same answer as when an e-mail is sent: nothing tells a stranger what happened.
            return redirect(self.success_url)
        return super().form_valid(form)


class PasswordResetSent(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")
    post_reset_login = False


class PasswordResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@require_http_methods(["GET", "POST"])
def email_verify_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail: a page with one button (mail scanners only GET)."""
    try:
        user = user_for_token(token)
    except LinkRefused:
        return render(request, "accounts/email_verify.html", {"valid": False}, status=400)
    if request.method == "POST":
        email_verify(token=token)
        messages.success(request, _("Thank you: your e-mail address %(email)s is confirmed.") % {"email": user.email})
        return redirect("portal:account" if request.user.is_authenticated else "accounts:login")
    return render(request, "accounts/email_verify.html", {"valid": True, "email": user.email})


@login_required
@require_POST
def email_verification_resend(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if user.email_verified_at is not None:
        messages.info(request, _("Your e-mail address is already confirmed."))
    elif email_verification_send(user=user):
        messages.success(request, _("We have sent a new link to %(email)s.") % {"email": user.email})
    else:
        messages.error(
            request,
            _("We have sent several links in the last hour. Use the newest one, or try again later."),
        )
    return redirect("portal:account")


@login_required
@require_POST
def sessions_end_others(request: AuthenticatedRequest) -> HttpResponse:
    ended = sign_out_everywhere_else(request=request, user=request.user)
    logger.info("signed out everywhere else user=%s listed=%s", request.user.pk, ended)
    messages.success(request, _("You are signed out on every other device."))
    return redirect("portal:account")
