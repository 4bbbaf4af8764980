"""Typed requests for views that only signed-in people reach.

Django types `request.user` as `User | AnonymousUser` and knows nothing of django-htmx's
`request.htmx`. Views behind `login_required` (or DRF's `IsAuthenticated`) annotate their
request with these classes instead of silencing the type checker at every use.
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    user: User  # type: ignore[assignment]  # narrowed: login_required ran first
    htmx: HtmxDetails


class AuthenticatedApiRequest(Request):
    user: User  # type: ignore[assignment]  # narrowed: IsAuthenticated ran first
