"""Passkeys through django-otp-webauthn's ceremonies (its views, JSON in and out, its JavaScript
served from our static files). Ours add what the portal needs on top:

- registering a passkey is recorded and, like confirming an app, confirms this session (the
  library marks it verified when it was not; we record the level and clear the pending step);
- verifying with a passkey records the level and clears the pending step;
- passwordless sign-in is off (settings.OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN): a passkey is a
  second factor here, and both ceremonies refuse an anonymous caller.
"""

import json
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views as webauthn
from django_otp_webauthn.exceptions import NotAuthenticated
from django_otp_webauthn.models import AbstractWebAuthnCredential, WebAuthnCredential

from accounts.assurance import Method, assurance_record
from accounts.models import SecondFactorChange
from accounts.second_factor.actions import logger, second_factor_change_record
from accounts.second_factor.gate import PENDING_KEY
from accounts.second_factor.selectors import Kind


class PasskeyRegistrationComplete(webauthn.CompleteCredentialRegistrationView):
    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(*args, **kwargs)
        request = self.request
        if isinstance(response, JsonResponse) and response.status_code == 200:
            credential = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
            second_factor_change_record(
                user=request.user,  # type: ignore[arg-type]
                kind=Kind.PASSKEY,
                action=SecondFactorChange.Action.ADDED,
                name=credential.name,
            )
            if request.user.is_verified():  # type: ignore[union-attr]
                request.session.pop(PENDING_KEY, None)
                assurance_record(request, method=Method.SECOND_FACTOR)
        return response


class PasskeyAuthenticationBegin(webauthn.BeginCredentialAuthenticationView):
    def check_can_authenticate(self) -> None:
        if self.get_user() is None:
            raise NotAuthenticated()
        super().check_can_authenticate()


class PasskeyAuthenticationComplete(webauthn.CompleteCredentialAuthenticationView):
    def check_can_authenticate(self) -> None:
        if self.get_user() is None:
            raise NotAuthenticated()
        super().check_can_authenticate()

    def complete_auth(self, device: AbstractWebAuthnCredential) -> None:  # type: ignore[override]
        super().complete_auth(device)
        self.request.session.pop(PENDING_KEY, None)
        assurance_record(self.request, method=Method.SECOND_FACTOR)
        logger.info("second factor verified kind=passkey user=%s", device.user_id)


# Mounted at /accounts/passkeys/ in the namespace the library's JavaScript configuration uses.
urlpatterns = [
    path(
        "registration/begin/",
        webauthn.BeginCredentialRegistrationView.as_view(),
        name="credential-registration-begin",
    ),
    path("registration/complete/", PasskeyRegistrationComplete.as_view(), name="credential-registration-complete"),
    path("authentication/begin/", PasskeyAuthenticationBegin.as_view(), name="credential-authentication-begin"),
    path(
        "authentication/complete/",
        PasskeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
