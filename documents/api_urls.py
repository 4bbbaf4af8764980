from django.urls import path

from documents import api

app_name = "documents-api"
urlpatterns = [
    path("vault/documents/", api.VaultListApi.as_view(), name="list"),
    path("vault/documents/<int:document_id>/", api.VaultDetailApi.as_view(), name="detail"),
    path("vault/documents/<int:document_id>/download/", api.VaultDownloadApi.as_view(), name="download"),
]
