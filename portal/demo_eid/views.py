"""The demo eID's authorize page: pick a person and a level, and the OAuth request is answered.

The request is validated by django-oauth-toolkit (client, redirect URI, PKCE, scopes) before
anything is shown; a bad client or redirect URI is a 400 page here, any other error goes back to
the client. The portal session is never signed in: the grant belongs to the demo eID's service
user and names the chosen person.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin

from portal.demo_eid.application import demo_eid_service_user
from portal.demo_eid.registry import ACR, PEOPLE, demo_person
from portal.demo_eid.validator import ASSERTION_KEY

LEVELS = (("substantial", _("Substantial")), ("high", _("High")))


@method_decorator(never_cache, name="dispatch")
class DemoEidAuthorizeView(OAuthLibMixin, View):
    def _error(self, request: HttpRequest, error: OAuthToolkitError) -> HttpResponse:
        redirect, response = self.error_response(error)
        if redirect and not isinstance(error, FatalClientError) and error.oauthlib_error.redirect_uri:
            return OAuth2ResponseRedirect(response["url"], oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)
        return render(
            request,
            "demo_eid/error.html",
            {"description": error.oauthlib_error.description},
            status=400,
        )

    def _page(self, request: HttpRequest, credentials: dict, *, level: str, errors: dict, status: int = 200):
        application = get_application_model().objects.filter(client_id=credentials.get("client_id")).first()
        context = {
            "people": PEOPLE,
            "levels": LEVELS,
            "chosen_level": level,
            "chosen_person": request.POST.get("person", ""),
            "client_name": application.name if application else "",
            "errors": errors,
        }
        return render(request, "demo_eid/authorize.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self._error(request, error)
        asked = request.GET.get("acr_values", "").split()
        level = next((name for name, acr in ACR.items() if acr in asked), "substantial")
        return self._page(request, credentials, level=level, errors={})

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self._error(request, error)
        allow = request.POST.get("action") != "cancel"
        person = demo_person(request.POST.get("person", ""))
        level = request.POST.get("level", "")
        if allow:
            errors = {}
            if person is None:
                errors["person"] = _("Choose the person to sign in as")
            if level not in ACR:
                errors["level"] = _("Choose the level to sign in at")
            if errors:
                return self._page(request, credentials, level=level, errors=errors, status=400)
            assert person is not None
            credentials["claims"] = {ASSERTION_KEY: {"subject": person.subject, "level": level}}
        # The grant's owner is the demo eID's service user, set on this request only: the
        # session is not touched, so nobody is signed in to the portal here.
        request.user = demo_eid_service_user()
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request, " ".join(scopes), credentials, allow
            )
        except OAuthToolkitError as error:
            return self._error(request, error)
        return OAuth2ResponseRedirect(uri, oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)
