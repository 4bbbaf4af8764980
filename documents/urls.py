from django.urls import path

from documents import views

app_name = "documents"
urlpatterns = [
    path("vault/", views.vault, name="vault"),
    path("vault/<int:document_id>/delete/", views.delete, name="delete"),
    path("vault/<int:document_id>/download/", views.download, name="download"),
    path("vault/<int:document_id>/preview.png", views.preview, name="preview"),
    path("verify/", views.verify_start, name="verify_start"),
    path("verify/file/", views.verify_upload, name="verify_upload"),
    path("verify/pki/onedoor/crls/<slug:label>/latest.crl", views.revocation_list, name="revocation_list"),
    path("verify/<str:code>/", views.verify, name="verify"),
]
