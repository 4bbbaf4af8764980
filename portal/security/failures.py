"""Every failed authorisation leaves one log line (OWASP ASVS: log authentication and
access-control failures).

- `FailedAuthorisationLogMiddleware`: a 401, 403 or 404 answered to a signed-in person by a
  view that is not public (a citizen probing someone else's application gets 404, and that
  404 is logged here);
- failed sign-ins (`user_login_failed`) and django-axes lockouts (`user_locked_out`).

Each line names the user id, method, path and client address — never a password (Django
cleanses credentials before the signal; only the log-in name is kept). User-supplied text may
contain CR/LF; the configured formatter (portal.logging.SingleLineFormatter) escapes them so a
line cannot be forged. The receivers are connected when this module is imported, which
happens when the middleware is loaded at the first request.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("portal.security")

FAILED_STATUSES = frozenset({401, 403, 404})

# Views anyone may open: a 404 there (an unknown service code, a mistyped verification code)
# is not a refused authorisation. "namespace:*" covers a whole namespace. A deployment may
# replace the list with the SECURITY_PUBLIC_VIEWS setting.
PUBLIC_VIEWS = frozenset(
    {
        "portal:*",
        "healthz",
        "set_language",
        "accounts:login",
        "accounts:register",
        "accounts:logout",
        "services:*",
        "services-api:*",
        "documents:verify_start",
        "documents:verify",
        "api-schema",
        "api-docs",
    }
)


def is_public_view(view_name: str) -> bool:
    public = getattr(settings, "SECURITY_PUBLIC_VIEWS", PUBLIC_VIEWS)
    if view_name in public:
        return True
    namespace, _, _ = view_name.rpartition(":")
    while namespace:
        if f"{namespace}:*" in public:
            return True
        namespace, _, _ = namespace.rpartition(":")
    return False


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return "-"
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR") or "-"


class FailedAuthorisationLogMiddleware:
    """Logs 401/403/404 answered to signed-in people by non-public views. Sits after
    AuthenticationMiddleware, so it also sees refusals made by middleware (CSRF) and by DRF."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code in FAILED_STATUSES:
            user = getattr(request, "user", None)
            match = request.resolver_match
            # An unresolved address is no view at all; public views' 404s are ordinary.
            if user is not None and user.is_authenticated and match is not None and not is_public_view(match.view_name):
                logger.warning(
                    "authorisation_failed status=%s user=%s method=%s path=%s view=%s ip=%s",
                    response.status_code,
                    user.pk,
                    request.method,
                    request.get_full_path(),
                    match.view_name,
                    client_address(request),
                )
        return response


def _user_id_for(username: str) -> str:
    if not username:
        return "-"
    field = "email__iexact" if "@" in username else "username__iexact"
    user_id = get_user_model().objects.filter(**{field: username.strip()}).order_by("pk").values_list("pk", flat=True)
    return str(user_id.first() or "-")


def logged_username(username: str) -> str:
    """What was typed as the username, for the log: residents sign in with their e-mail address,
    which is personal data, so an address is logged as a short digest (the same address always
    gives the same digest, enough to see repeated attempts); a staff username as typed."""
    if "@" in username:
        return "email:" + hashlib.sha256(username.strip().lower().encode()).hexdigest()[:12]
    return username


@receiver(user_login_failed, dispatch_uid="portal.security.login_failed")
def log_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD) or "")
    logger.warning(
        "login_failed user=%s username=%s method=%s path=%s ip=%s",
        _user_id_for(username),
        logged_username(username),
        request.method if request is not None else "-",
        request.path if request is not None else "-",
        client_address(request),
    )


@receiver(user_locked_out, dispatch_uid="portal.security.locked_out")
def log_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str = "", ip_address: str = "", **kwargs: Any
) -> None:
    logger.warning(
        "login_locked_out user=%s username=%s method=%s path=%s ip=%s",
        _user_id_for(username or ""),
        logged_username(username or ""),
        request.method if request is not None else "-",
        request.path if request is not None else "-",
        ip_address or client_address(request),
    )
