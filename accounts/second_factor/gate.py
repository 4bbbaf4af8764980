"""The gate in front of staff areas: a second factor confirmed in this session, or no entry.

Why a deny-list of staff areas rather than an allow-list of everything else: the areas that show
other people's data to staff are few and sit under a handful of path prefixes, so a new page
added under them is covered without anybody remembering the gate; an allow-list would have to
grow with every public or citizen page (and forgetting one would lock citizens out, who are
never forced). accounts/tests/test_second_factor_gate.py checks that every URL the authorisation matrix
reserves for staff is under one of these prefixes, so a staff page added elsewhere fails a test.

Two cases:
- staff (any department membership, `is_staff`, `is_superuser`) opening a staff area without a
  factor confirmed in this session: without any factor, to the security page to add one; with
  one, to the verification step. The API answers 403 with a `detail` instead;
- anyone who signed in with a password and has a factor (`PENDING_KEY`, set at sign-in): to the
  verification step from every page until they confirm it, or sign out.
"""

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.second_factor.selectors import has_second_factor, must_use_second_factor

logger = logging.getLogger("accounts.second_factor")

# Set at password sign-in for a person who has a second factor; cleared when it is confirmed.
PENDING_KEY = "second_factor_pending"

# Where staff read or change other people's data.
STAFF_AREAS = (
    "/workbench/",
    "/api/workbench/",
    "/supervision/",
    "/api/supervision/",
    "/accounts/staff/",
    "/admin/",
    "/appointments/counter/",
    "/finance/",
)
# What a person with a factor still to confirm may open: the step itself and its passkey
# ceremony, signing out, the language switch, static files and the health check.
WHILE_PENDING = (
    "/accounts/verify/",
    "/accounts/passkeys/",
    "/accounts/logout/",
    "/i18n/",
    "/static/",
    "/healthz",
)


def in_area(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix) for prefix in prefixes)


class SecondFactorGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or user.is_verified():  # type: ignore[union-attr,attr-defined]
            return self.get_response(request)
        path = request.path_info
        if request.session.get(PENDING_KEY) and not in_area(path, WHILE_PENDING):
            return self.refuse(request, enrol=False, why="pending")
        if in_area(path, STAFF_AREAS) and must_use_second_factor(user=user):  # type: ignore[arg-type]
            return self.refuse(request, enrol=not has_second_factor(user=user), why="staff")  # type: ignore[arg-type]
        return self.get_response(request)

    def refuse(self, request: HttpRequest, *, enrol: bool, why: str) -> HttpResponse:
        logger.info(
            "second factor required user=%s method=%s path=%s enrol=%s why=%s",
            request.user.pk,
            request.method,
            request.path,
            enrol,
            why,
        )
        if request.path_info.startswith("/api/"):
            detail = (
                _("Add a second factor on your security page and confirm it before using this API.")
                if enrol
                else _("Confirm your sign-in with your second factor before using this API.")
            )
            return JsonResponse({"detail": detail}, status=403)
        target = reverse("accounts:security" if enrol else "accounts:verify")
        query = {"next": request.get_full_path()} if request.method == "GET" else {}
        if enrol:
            query["required"] = "1"
        url = f"{target}?{urlencode(query)}" if query else target
        if getattr(request, "htmx", False):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return HttpResponseRedirect(url)
