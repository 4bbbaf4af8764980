"""The demo eID's endpoints under /demo-eid/. The namespace is django-oauth-toolkit's own, so
its discovery document names these URLs."""

from django.urls import path
from oauth2_provider import views as oauth2_views

from portal.demo_eid.views import DemoEidAuthorizeView

app_name = "oauth2_provider"
urlpatterns = [
    path("authorize/", DemoEidAuthorizeView.as_view(), name="authorize"),
    path("token/", oauth2_views.TokenView.as_view(), name="token"),
    path(
        ".well-known/openid-configuration",
        oauth2_views.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", oauth2_views.JwksInfoView.as_view(), name="jwks-info"),
    path("userinfo/", oauth2_views.UserInfoView.as_view(), name="user-info"),
]
