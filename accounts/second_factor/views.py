"""The security page (add and remove second factors) and the verification step after signing in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration

from accounts.assurance import Method, assurance_record, session_assurance
from accounts.models import SecondFactorChange
from accounts.requests import AuthenticatedRequest
from accounts.second_factor import actions, selectors
from accounts.second_factor.forms import CodeForm
from accounts.second_factor.gate import PENDING_KEY
from accounts.second_factor.qr import totp_qr_svg, totp_secret_text


def safe_next(request: AuthenticatedRequest, default: str = "") -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def second_factor_confirmed(request: AuthenticatedRequest, device: Device) -> None:
    """This session is now confirmed with `device`: staff areas open, and an eID (or
    counter-checked) session rises to high."""
    otp_login(request, device)
    request.session.pop(PENDING_KEY, None)
    assurance_record(request, method=Method.SECOND_FACTOR)


def _unconfirmed_session(request: AuthenticatedRequest) -> HttpResponse | None:
    """Changing factors needs one of them first, once there are any: a stolen password alone
    must not add a factor, or remove the real one."""
    if request.user.is_verified() or not selectors.has_second_factor(user=request.user):  # type: ignore[attr-defined]
        return None
    messages.error(request, _("Confirm it is you with your second factor before changing your second factors."))
    return redirect(_with_next(reverse("accounts:verify"), reverse("accounts:security")))


@login_required
@require_GET
@never_cache
def security(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    factors = selectors.second_factors(user=user)
    context = {
        "factors": factors,
        "changes": SecondFactorChange.objects.filter(user=user)[:10],
        "required": request.GET.get("required") == "1" and not factors.any,
        "staff": selectors.must_use_second_factor(user=user),
        "confirmed": user.is_verified(),  # type: ignore[attr-defined]
        "next": safe_next(request),
        "passkey_configuration": get_configuration(request),
        "assurance": session_assurance(request),
    }
    return render(request, "accounts/security.html", context)


@login_required
@require_POST
def totp_start(request: AuthenticatedRequest) -> HttpResponse:
    if detour := _unconfirmed_session(request):
        return detour
    actions.totp_device_start(user=request.user)
    return redirect(_with_next(reverse("accounts:security-app"), safe_next(request)))


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def totp_confirm(request: AuthenticatedRequest) -> HttpResponse:
    if detour := _unconfirmed_session(request):
        return detour
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-pk").first()
    if device is None:
        return redirect(_with_next(reverse("accounts:security"), safe_next(request)))
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        help_text=_("The 6-digit code the app shows for One Door."),
    )
    if request.method == "POST" and form.is_valid():
        try:
            device = actions.totp_device_confirm(
                user=request.user, device_id=device.pk, token=form.cleaned_data["code"]
            )
        except actions.SecondFactorRefused as refused:
            form.add_error("code", refused.message)
        else:
            second_factor_confirmed(request, device)
            messages.success(request, _("Your authenticator app is added. You will use it each time you sign in."))
            return redirect(safe_next(request, reverse("accounts:security")))
    context = {
        "form": form,
        "qr": totp_qr_svg(device=device, label=_("QR code to scan with your authenticator app")),
        "secret": totp_secret_text(device=device),
        "next": safe_next(request),
    }
    return render(request, "accounts/security_app.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
@never_cache
def recovery_codes(request: AuthenticatedRequest) -> HttpResponse:
    if detour := _unconfirmed_session(request):
        return detour
    codes = actions.recovery_codes_create(user=request.user)
    response = render(request, "accounts/security_recovery_codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def remove(request: AuthenticatedRequest, kind: str, device_id: int) -> HttpResponse:
    device = selectors.device_of(user=request.user, kind=kind, device_id=device_id)  # 404 unless theirs
    if detour := _unconfirmed_session(request):
        return detour
    if request.method == "POST":
        actions.second_factor_remove(user=request.user, device=device)
        messages.success(request, _("%(name)s is removed.") % {"name": device.name or _("The second factor")})
        return redirect("accounts:security")
    others = [d for d in _all(selectors.second_factors(user=request.user)) if d != device]
    context = {
        "device": device,
        "kind": SecondFactorChange.Kind(kind).label,
        "last_one": not others,
        "staff": selectors.must_use_second_factor(user=request.user),
    }
    return render(request, "accounts/security_remove.html", context)


def _all(factors: selectors.Factors) -> list[Device]:
    return [*factors.apps, *factors.passkeys, *([factors.recovery_codes] if factors.recovery_codes else [])]


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def verify(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    default = reverse("portal:home")
    next_url = safe_next(request)
    if user.is_verified():  # type: ignore[attr-defined]
        request.session.pop(PENDING_KEY, None)
        return HttpResponseRedirect(next_url or default)
    factors = selectors.second_factors(user=user)
    if not factors.any:
        return redirect(_with_next(reverse("accounts:security"), next_url))
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        help_text=_("The 6-digit code your authenticator app shows now, or one of your recovery codes."),
    )
    if request.method == "POST" and form.is_valid():
        try:
            device = actions.second_factor_check(user=user, code=form.cleaned_data["code"])
        except actions.SecondFactorRefused as refused:
            form.add_error("code", refused.message)
        else:
            second_factor_confirmed(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request,
                    ngettext(
                        "You used a recovery code. %(left)s is left: make new ones on your security page.",
                        "You used a recovery code. %(left)s are left: make new ones on your security page.",
                        left,
                    )
                    % {"left": left},
                )
            return HttpResponseRedirect(next_url or default)
    context = {
        "form": form,
        "factors": factors,
        "next": next_url,
        "passkey_configuration": get_configuration(request),
    }
    return render(request, "accounts/verify.html", context, status=400 if form.errors else 200)
