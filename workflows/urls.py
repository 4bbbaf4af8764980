from django.urls import include, path

app_name = "workflows"
urlpatterns = [
    path("", include("workflows.apply.urls")),
    path("", include("workflows.engine.urls")),
    path("", include("workflows.workbench.urls")),
    path("", include("workflows.progress.urls")),
    path("", include("workflows.privacy.urls")),
    path("", include("workflows.delegation.urls")),
    path("", include("workflows.transparency.urls")),
    path("", include("workflows.offers.urls")),
]
