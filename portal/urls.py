from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView

from accounts.second_factor import passkeys
from portal import account, metrics, views

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("accessibility/", views.accessibility, name="accessibility"),
        path("account/", account.account, name="account"),
    ],
    "portal",
)

# The API first, under one prefix: an API request is resolved among the API's patterns only,
# not after every page's (resolving walked ~130 patterns per API request before).
api_patterns: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Our own accessible reference, made from the schema (portal/api_reference.py).
    path("docs/", views.api_docs, name="api-docs"),
    path("", include("services.api_urls")),
    path("", include("documents.api_urls")),
    path("", include("workflows.api_urls")),
    path("", include("appointments.api_urls")),
    path("", include("payments.api_urls")),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("", include(portal_patterns)),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("accounts/passkeys/", include((passkeys.urlpatterns, "otp_webauthn"))),
    path("", include("services.urls")),
    path("", include("documents.urls")),
    path("", include("workflows.urls")),
    path("", include("appointments.urls")),
    path("", include("payments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEMO_EID:
    # The demo national eID (portal/demo_eid/): outside production only.
    urlpatterns.append(path("demo-eid/", include("portal.demo_eid.urls")))

handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

admin.site.site_header = _("One Door administration")
admin.site.site_title = _("One Door")
