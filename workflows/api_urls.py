from django.urls import include, path

app_name = "workflows-api"
urlpatterns = [
    path("", include("workflows.apply.api_urls")),
    path("", include("workflows.engine.api_urls")),
    path("", include("workflows.workbench.api_urls")),
    path("", include("workflows.progress.api_urls")),
]
