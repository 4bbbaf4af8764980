import datetime
import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.api_reference import api_reference
from portal.database_down import database_down_response, is_dependency_down
from portal.health import current_health


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


# The day the whole site last passed tests/test_browser_accessibility_matrix.py; the statement
# says so (review it with the statement).
ACCESSIBILITY_TESTED_ON = datetime.date(2026, 12, 5)


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    context = {"tested_on": ACCESSIBILITY_TESTED_ON, "contact_email": settings.ACCESSIBILITY_CONTACT_EMAIL}
    return render(request, "portal/accessibility.html", context)


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/api_reference.html", {"reference": api_reference()})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    health = current_health()
    return JsonResponse(health.as_dict(), status=200 if health.healthy else 503)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while it handles the exception, wherever it was raised (a middleware
    # loading the session, a view, a template): a database that went away is a 503.
    error = sys.exc_info()[1]
    if is_dependency_down(error):
        return database_down_response(request, error)
    # No request: RequestContext would run the context processors, which load the user, and a
    # failing database must not make the error page fail too.
    return HttpResponseServerError(render_to_string("500.html"))
