from django.urls import path

from services import api

app_name = "services-api"
urlpatterns = [
    path("services/", api.ServiceListApi.as_view(), name="service-list"),
    path("services/<slug:code>/", api.ServiceDetailApi.as_view(), name="service-detail"),
    path("life-events/", api.LifeEventListApi.as_view(), name="life-event-list"),
    path("life-events/<slug:code>/", api.LifeEventDetailApi.as_view(), name="life-event-detail"),
    path("data-elements/", api.DataElementListApi.as_view(), name="data-element-list"),
    path("data-elements/<str:key>/", api.DataElementDetailApi.as_view(), name="data-element-detail"),
    path("document-types/", api.DocumentTypeListApi.as_view(), name="document-type-list"),
]
