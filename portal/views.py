import sys

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.database_down import database_down_response, is_dependency_down
from portal.health import current_health


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/accessibility.html")


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
