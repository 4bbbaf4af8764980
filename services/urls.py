from django.urls import path

from services import views

app_name = "services"
urlpatterns = [
    path("services/", views.catalogue, name="catalogue"),
    path("services/<slug:code>/", views.service_detail, name="service"),
    path("services/<slug:code>/eligibility/", views.service_eligibility, name="service_eligibility"),
    path("life-events/<slug:code>/", views.life_event_detail, name="life_event"),
    path("life-events/<slug:code>/eligibility/", views.life_event_eligibility, name="life_event_eligibility"),
]
