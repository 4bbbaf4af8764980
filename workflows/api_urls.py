from django.urls import path  # noqa: F401

app_name = "workflows-api"
urlpatterns: list = []
